-- image_findings: open findings (new or still open) of one image in one
-- repository, from the rules' findings view. ?1 registry, ?2 repository,
-- ?3 image digest.
SELECT count(*) FROM findings
WHERE registry = ?1 AND repository = ?2 AND image_digest = ?3 AND state IN ('new', 'open');
