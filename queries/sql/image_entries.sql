-- image_entries: every entry of every layer of one image (as held by one
-- repository), at or under a path, with its visibility. ?1 image digest,
-- ?2 registry, ?3 repository, ?4 path ('/' for all), ?5 1 for visible
-- entries only. The range on path finds "P/..." without GLOB escaping:
-- '0' is the character after '/'.
SELECT f.layer_position, f.layer_digest, f.seq, f.path, f.type, f.mode, f.uid, f.gid,
       COALESCE(f.uname, ''), COALESCE(f.gname, ''), f.size, f.mtime, f.sha256, f.linkname,
       f.kind, f.capabilities, f.visible, f.hidden_by_position, f.hidden_how, f.package
FROM image_files f
WHERE f.image_digest = ?1 AND f.registry = ?2 AND f.repository = ?3
  AND (?4 = '/' OR f.path = ?4 OR (f.path > ?4 || '/' AND f.path < ?4 || '0'))
  AND (?5 = 0 OR f.visible)
ORDER BY f.path, f.layer_position, f.seq;
