-- changes_tags: the tags whose target changed after ?1 (tag_changes): what
-- each pointed at at ?1 (NULL: it did not exist, or was gone) and what it
-- points at now (NULL: gone). A tag moved away and back shows both equal.
WITH changed AS (SELECT DISTINCT registry, repository, tag FROM tag_changes WHERE at > ?1)
SELECT c.registry, c.repository, c.tag,
       (SELECT e.digest FROM tag_changes e WHERE e.registry = c.registry AND e.repository = c.repository AND e.tag = c.tag
        ORDER BY e.at DESC LIMIT 1) AS now,
       (SELECT e.digest FROM tag_changes e WHERE e.registry = c.registry AND e.repository = c.repository AND e.tag = c.tag
          AND e.at <= ?1
        ORDER BY e.at DESC LIMIT 1) AS before
FROM changed c
ORDER BY c.registry, c.repository, c.tag;
