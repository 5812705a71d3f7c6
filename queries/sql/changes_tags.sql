-- changes_tags: the tags whose target changed after ?1 (tag_events): what
-- each pointed at at ?1 (NULL: it did not exist, or was gone) and what it
-- points at now (NULL: gone). A tag moved away and back shows both equal.
WITH changed AS (SELECT DISTINCT repository_id, tag FROM tag_events WHERE at > ?1)
SELECT r.registry, r.name, c.tag,
       (SELECT e.digest FROM tag_events e WHERE e.repository_id = c.repository_id AND e.tag = c.tag
        ORDER BY e.at DESC LIMIT 1) AS now,
       (SELECT e.digest FROM tag_events e WHERE e.repository_id = c.repository_id AND e.tag = c.tag AND e.at <= ?1
        ORDER BY e.at DESC LIMIT 1) AS before
FROM changed c
JOIN repositories r ON r.id = c.repository_id
ORDER BY r.registry, r.name, c.tag;
