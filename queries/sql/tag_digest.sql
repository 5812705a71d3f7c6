-- tag_digest: what a tag points at now (its latest mapping), in every
-- matching registry; for a tag since deleted (gone), what it pointed at
-- last. ?1 repository, ?2 tag, ?3 registry ('' any).
SELECT t.registry, t.repository, t.digest
FROM tags t
WHERE t.repository = ?1 AND t.tag = ?2 AND (?3 = '' OR t.registry = ?3)
  AND NOT EXISTS (SELECT 1 FROM tags n
                  WHERE n.registry = t.registry AND n.repository = t.repository
                    AND n.tag = t.tag AND n.last_seen > t.last_seen)
ORDER BY t.registry, t.digest;
