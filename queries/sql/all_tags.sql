-- all_tags: every tag's current mapping (registry, repository, digest,
-- tag), ordered by tag: what image_tags finds, for all images at once.
SELECT t.registry, t.repository, t.digest, t.tag
FROM tags t
WHERE NOT EXISTS (SELECT 1 FROM tags n
                  WHERE n.registry = t.registry AND n.repository = t.repository
                    AND n.tag = t.tag AND n.last_seen > t.last_seen)
ORDER BY t.tag;
