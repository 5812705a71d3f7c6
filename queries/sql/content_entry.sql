-- content_entry: a regular file of one image (as held by one repository)
-- with the given content, to read a hardlink's bytes from when it links a
-- file of another layer. ?1 image digest, ?2 registry, ?3 repository,
-- ?4 sha256.
SELECT f.layer_position, f.layer_digest, f.seq, COALESCE(f.written_via, f.path), f.size
FROM image_files f
WHERE f.sha256 = ?4 AND f.image_digest = ?1 AND f.registry = ?2 AND f.repository = ?3 AND f.type = 'file'
ORDER BY f.visible DESC, f.layer_position DESC
LIMIT 1;
