-- all_tags: every tag's current mapping (registry, repository, digest,
-- tag), ordered by tag: what image_tags finds, for all images at once.
SELECT t.registry, t.repository, t.digest, t.tag
FROM tags t
WHERE t.current
ORDER BY t.tag;
