-- image_tags: the tags of a repository that point at an image now, directly
-- or through its index. ?1 registry, ?2 repository, ?3 digest, ?4 index digest.
SELECT t.tag
FROM tags t
WHERE t.registry = ?1 AND t.repository = ?2 AND t.digest IN (?3, ?4)
  AND NOT EXISTS (SELECT 1 FROM tags n
                  WHERE n.registry = t.registry AND n.repository = t.repository
                    AND n.tag = t.tag AND n.last_seen > t.last_seen)
ORDER BY t.tag;
