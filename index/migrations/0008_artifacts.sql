-- Manifests that are not container images (signatures, attestations, SBOMs,
-- Helm charts and other OCI artifacts), remembered so that re-scans skip
-- them after one HEAD, as they do indexed images. Tags pointing at them stay
-- in tag_history, so `tags JOIN artifacts` lists a registry's signatures.
CREATE TABLE artifact_manifests (
    digest     TEXT PRIMARY KEY,
    reason     TEXT NOT NULL, -- why it is not an image: its config or layer media type
    first_seen TEXT NOT NULL
) WITHOUT ROWID;

CREATE VIEW artifacts AS
SELECT digest, reason, first_seen FROM artifact_manifests;
