-- find: the image files matching one filter, once per image (registry,
-- repository, manifest) and layer entry. The filter is one of the fixed
-- conditions in find.go, on f.path or f.sha256, so the lookup starts from
-- the unique index on paths or contents. ?1 the path, hash or GLOB
-- pattern, ?2 1 for visible files only, ?3 1 for hidden files only.
-- Whiteout and opaque markers are not files: they show as the hidden rows
-- of what they delete.
SELECT f.registry, f.repository, f.image_digest, COALESCE(i.index_digest, ''),
       COALESCE(i.os, ''), COALESCE(i.architecture, ''), COALESCE(i.variant, ''),
       f.path, f.type, f.layer_position, f.layer_digest, f.size, f.mode, f.uid, f.gid,
       f.sha256, f.linkname, f.visible, f.hidden_by_position, f.hidden_how, f.package
FROM image_files f
JOIN images i ON i.digest = f.image_digest AND i.registry = f.registry AND i.repository = f.repository
WHERE {{filter}}
  AND f.hidden_how IS NOT 'marker'
  AND (?2 = 0 OR f.visible) AND (?3 = 0 OR NOT f.visible)
ORDER BY f.registry, f.repository, f.image_digest, f.path, f.layer_position, f.seq;
