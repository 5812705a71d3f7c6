-- image_findings: open findings (new or still open) of one image. Findings
-- belong to the image digest, whichever repositories hold it (the findings
-- view lists them all in one column). ?1 image digest.
SELECT count(*) FROM finding_rows WHERE image_digest = ?1 AND resolved_in IS NULL;
