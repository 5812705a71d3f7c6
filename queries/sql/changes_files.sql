-- changes_files: the files (visible, not directories) of image ?2 at
-- paths that no image held at or before ?1 showed. Run per new image: one
-- image's entries are a range of rowids, where a list of images would make
-- SQLite index every entry first.
SELECT f.path, f.registry, f.repository, f.type, f.sha256
FROM image_files f
WHERE f.image_digest = ?2 AND f.visible AND f.type != 'dir'
  AND NOT EXISTS (SELECT 1 FROM image_files o
                  WHERE o.path = f.path AND o.visible
                    AND o.image_digest IN (SELECT digest FROM images GROUP BY digest
                                           HAVING min(first_seen) <= ?1));
