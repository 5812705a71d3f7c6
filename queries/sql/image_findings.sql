-- image_findings: open findings (new or still open, not suppressed) of one
-- image: what needs looking at. Findings belong to the image digest,
-- whichever repositories hold it (the findings view lists them all in one
-- column). ?1 image digest.
SELECT count(*) FROM open_findings WHERE image_digest = ?1;
