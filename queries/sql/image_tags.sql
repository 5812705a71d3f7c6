-- image_tags: the tags of a repository that point at an image now, directly
-- or through its index. ?1 registry, ?2 repository, ?3 digest, ?4 index digest.
SELECT t.tag
FROM tags t
WHERE t.registry = ?1 AND t.repository = ?2 AND t.digest IN (?3, ?4) AND t.current
ORDER BY t.tag;
