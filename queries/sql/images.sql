-- images: every indexed platform image of every repository, with its size
-- and how many entries its final filesystem shows. ?1 is a GLOB over
-- repository, registry/repository, repository:tag, registry/repository:tag
-- (current tags) or the digest ('' for all).
--
-- The count of visible entries reads the index's private hidden table:
-- through image_files it would visit every entry of every image.
SELECT i.registry, i.repository, i.digest, COALESCE(i.index_digest, ''),
       COALESCE(i.os, ''), COALESCE(i.architecture, ''), COALESCE(i.variant, ''),
       i.created, i.last_seen,
       count(il.layer_digest) AS layers,
       COALESCE(sum(l.size), 0) AS size,
       COALESCE(sum(l.uncompressed_size), 0) AS uncompressed_size,
       COALESCE(sum(l.entries), 0)
         - (SELECT count(*) FROM hidden h JOIN manifests m ON m.id = h.manifest_id WHERE m.digest = i.digest) AS files
FROM images i
LEFT JOIN image_layers il ON il.image_digest = i.digest
LEFT JOIN layers l ON l.digest = il.layer_digest
WHERE ?1 = ''
   OR i.repository GLOB ?1 OR i.registry || '/' || i.repository GLOB ?1 OR i.digest GLOB ?1
   OR EXISTS (SELECT 1 FROM tags t
              WHERE t.registry = i.registry AND t.repository = i.repository
                AND t.digest IN (i.digest, i.index_digest) AND t.current
                AND (t.repository || ':' || t.tag GLOB ?1
                     OR t.registry || '/' || t.repository || ':' || t.tag GLOB ?1))
GROUP BY i.registry, i.repository, i.digest
ORDER BY i.registry, i.repository, i.created DESC, i.digest;
