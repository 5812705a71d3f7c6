-- changes_deleted_tags: tags found gone after ?1 (a complete listing of
-- their repository, or of the catalog, no longer had them), with the digest
-- each pointed at last.
SELECT t.registry, t.repository, t.tag, t.digest
FROM tags t
WHERE t.gone > ?1
  AND NOT EXISTS (SELECT 1 FROM tags n
                  WHERE n.registry = t.registry AND n.repository = t.repository
                    AND n.tag = t.tag AND n.last_seen > t.last_seen)
ORDER BY t.registry, t.repository, t.tag;
