-- changes_images: images a repository first held after ?1 (an RFC 3339
-- time).
SELECT i.registry, i.repository, i.digest, COALESCE(i.index_digest, ''),
       COALESCE(i.os, ''), COALESCE(i.architecture, ''), COALESCE(i.variant, '')
FROM images i
WHERE i.first_seen > ?1
ORDER BY i.registry, i.repository, i.digest;
