-- 0009_fleet_drift: SQLite's 0027 (issue 19), the counts
-- system-binary-fleet-drift compares each image with, kept at rules time
-- (RecordFleetFiles). content_id 0: no content.
CREATE TABLE fleet_drift_counts (
    base_id    bigint NOT NULL,
    path_id    bigint NOT NULL,
    content_id bigint NOT NULL,
    images     bigint NOT NULL,
    PRIMARY KEY (base_id, path_id, content_id)
);
CREATE TABLE fleet_drift_manifests (
    manifest_id bigint PRIMARY KEY,
    indexed_at  text NOT NULL
);

-- fleet_drift: the counts, by base layer digest, path and sha256 (NULL:
-- no content), as of the latest rules run. Public.
CREATE VIEW fleet_drift AS
SELECT l.digest AS base_digest, p.path, c.sha256, d.images
FROM fleet_drift_counts d
JOIN layers l ON l.id = d.base_id
JOIN paths p ON p.id = d.path_id
LEFT JOIN contents c ON c.id = d.content_id;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'auditor_reader') THEN
        GRANT SELECT ON fleet_drift TO auditor_reader;
    END IF;
END
$$;
