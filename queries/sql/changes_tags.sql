-- changes_tags: tag mappings first seen after ?1, with the digest the tag
-- pointed at before (its latest mapping first seen at or before ?1), or
-- NULL for a new tag.
SELECT t.registry, t.repository, t.tag, t.digest,
       (SELECT p.digest FROM tags p
        WHERE p.registry = t.registry AND p.repository = t.repository AND p.tag = t.tag
          AND p.first_seen <= ?1
        ORDER BY p.last_seen DESC LIMIT 1) AS previous
FROM tags t
WHERE t.first_seen > ?1
ORDER BY t.registry, t.repository, t.tag, t.first_seen;
