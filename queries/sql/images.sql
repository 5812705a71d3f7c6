-- images: every indexed platform image of every repository, with its size
-- and how many entries its final filesystem shows. ?1 is a GLOB over
-- repository, registry/repository, repository:tag, registry/repository:tag
-- (current tags) or the digest ('' for all).
--
-- The sizes and the count of visible entries come from image_sizes:
-- through image_files they would visit every entry of every image.
SELECT i.registry, i.repository, i.digest, COALESCE(i.index_digest, ''),
       COALESCE(i.os, ''), COALESCE(i.architecture, ''), COALESCE(i.variant, ''),
       i.created, i.last_seen,
       COALESCE(s.layers, 0), COALESCE(s.size, 0), COALESCE(s.uncompressed_size, 0),
       COALESCE(s.visible_entries, 0) AS files
FROM images i
LEFT JOIN image_sizes s ON s.image_digest = i.digest
WHERE ?1 = ''
   OR i.repository GLOB ?1 OR i.registry || '/' || i.repository GLOB ?1 OR i.digest GLOB ?1
   OR EXISTS (SELECT 1 FROM tags t
              WHERE t.registry = i.registry AND t.repository = i.repository
                AND t.digest IN (i.digest, i.index_digest) AND t.current
                AND (t.repository || ':' || t.tag GLOB ?1
                     OR t.registry || '/' || t.repository || ':' || t.tag GLOB ?1))
ORDER BY i.registry, i.repository, i.created DESC, i.digest;
