-- image_candidates: indexed platform images by manifest digest or by the
-- index (manifest list) digest a tag reached them through, optionally in
-- one registry and repository. ?1 digest or GLOB prefix pattern, ?2 1 for a
-- GLOB prefix, ?3 registry ('' any), ?4 repository ('' any).
SELECT i.digest, i.registry, i.repository, COALESCE(i.index_digest, ''),
       COALESCE(i.os, ''), COALESCE(i.architecture, ''), COALESCE(i.variant, '')
FROM images i
WHERE (CASE WHEN ?2 THEN i.digest GLOB ?1 OR i.index_digest GLOB ?1
            ELSE i.digest = ?1 OR i.index_digest = ?1 END)
  AND (?3 = '' OR i.registry = ?3)
  AND (?4 = '' OR i.repository = ?4)
ORDER BY i.registry, i.repository, i.digest;
