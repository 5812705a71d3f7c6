-- changes_findings: findings first seen by a scan after scan ?1.
SELECT registry, repository, image_digest, COALESCE(path, ''), severity, rule_id,
       COALESCE(title, ''), COALESCE(detail, '')
FROM findings
WHERE first_seen > ?1
ORDER BY registry, repository, image_digest, path, rule_id;
