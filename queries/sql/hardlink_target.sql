-- hardlink_target: the regular file a hardlink entry points at: the last
-- entry at that path before it in the same layer tar. ?1 layer digest,
-- ?2 target path, ?3 the hardlink's seq.
SELECT seq, size, sha256
FROM files
WHERE path = ?2 AND layer_digest = ?1 AND type = 'file' AND seq < ?3
ORDER BY seq DESC
LIMIT 1;
