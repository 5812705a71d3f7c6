-- file_at: the entries of one image at one path: the visible one, or the
-- one in layer ?5. ?1 image digest, ?2 registry, ?3 repository, ?4 path,
-- ?5 layer position (-1 for the visible entry). The last column is the
-- entry's path in its layer tar (written_via, for one written through a
-- symlinked directory).
SELECT f.layer_position, f.layer_digest, f.seq, f.type, f.size, f.sha256, f.linkname,
       COALESCE(f.kind, ''), f.visible, COALESCE(f.written_via, f.path)
FROM image_files f
WHERE f.path = ?4 AND f.image_digest = ?1 AND f.registry = ?2 AND f.repository = ?3
  AND (CASE WHEN ?5 < 0 THEN f.visible ELSE f.layer_position = ?5 END)
  AND f.type NOT IN ('whiteout', 'opaque')
ORDER BY f.seq DESC
LIMIT 1;
