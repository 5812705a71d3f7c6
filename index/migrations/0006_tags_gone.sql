-- Deleted tags. A tag is gone once a complete listing of its repository's
-- tags, or of its registry's catalog, no longer has it (tag_history.gone:
-- when that was first seen); it is back when a scan resolves it again.
-- tags.current is 1 for the mapping a tag has now: its latest, not gone.
-- Before, a deleted tag stayed current for ever. The findings view's tags
-- column shows current tags only.
ALTER TABLE tag_history ADD COLUMN gone TEXT;

DROP VIEW tags;
CREATE VIEW tags AS
SELECT r.registry, r.name AS repository, t.tag, t.digest, t.first_seen, t.last_seen, t.gone,
       (t.gone IS NULL AND NOT EXISTS (SELECT 1 FROM tag_history n
            WHERE n.repository_id = t.repository_id AND n.tag = t.tag AND n.last_seen > t.last_seen)) AS current
FROM tag_history t
JOIN repositories r ON r.id = t.repository_id;

DROP VIEW findings;
CREATE VIEW findings AS
SELECT f.fingerprint, f.rule_id, f.severity, f.title, f.image_digest,
       (SELECT group_concat(registry, ' ') FROM (SELECT DISTINCT r.registry FROM repo_manifests rm
            JOIN manifests m ON m.id = rm.manifest_id JOIN repositories r ON r.id = rm.repository_id
            WHERE m.digest = f.image_digest ORDER BY 1)) AS registry,
       (SELECT group_concat(name, ' ') FROM (SELECT DISTINCT r.name FROM repo_manifests rm
            JOIN manifests m ON m.id = rm.manifest_id JOIN repositories r ON r.id = rm.repository_id
            WHERE m.digest = f.image_digest ORDER BY 1)) AS repository,
       (SELECT group_concat(tag, ' ') FROM (SELECT DISTINCT r.name || ':' || t.tag AS tag FROM (
                SELECT t.repository_id, t.tag, t.last_seen, t.gone FROM tag_history t WHERE t.digest = f.image_digest
                UNION ALL
                SELECT t.repository_id, t.tag, t.last_seen, t.gone FROM manifests m
                JOIN repo_manifests rm ON rm.manifest_id = m.id AND rm.index_digest IS NOT NULL
                JOIN tag_history t ON t.digest = rm.index_digest AND t.repository_id = rm.repository_id
                WHERE m.digest = f.image_digest) t
            JOIN repositories r ON r.id = t.repository_id
            WHERE t.gone IS NULL
              AND t.last_seen = (SELECT MAX(t2.last_seen) FROM tag_history t2 WHERE t2.repository_id = t.repository_id AND t2.tag = t.tag)
            ORDER BY 1)) AS tags,
       f.layer_digest, f.path, f.detail, f.first_seen, f.last_seen,
       CASE WHEN f.resolved_in IS NOT NULL THEN 'resolved'
            WHEN f.new_in = (SELECT MAX(scan_id) FROM rule_evals) THEN 'new'
            ELSE 'open' END AS state,
       f.suppressed AS suppressed_reason, f.suppressed_until, f.resolved_in
FROM finding_rows f;
