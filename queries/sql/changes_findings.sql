-- changes_findings: findings that became new after scan ?1 (first seen,
-- seen again after being resolved, or no longer suppressed) and are still
-- open and unsuppressed: what the nightly reports since then called new.
SELECT f.registry, f.repository, f.image_digest, COALESCE(f.path, ''), f.severity, f.rule_id,
       COALESCE(f.title, ''), COALESCE(f.detail, '')
FROM open_findings r
JOIN findings f ON f.fingerprint = r.fingerprint
WHERE r.new_in > ?1
ORDER BY f.registry, f.repository, f.image_digest, f.path, f.rule_id;
