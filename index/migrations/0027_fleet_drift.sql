-- 0027_fleet_drift: the counts system-binary-fleet-drift compares each image
-- with (issue 19), kept at rules time so that a night reads them instead
-- of every visible system file of every image.
--
-- fleet_drift_counts: for each base layer (layer 0 of an image), system
-- path and content (content_id 0: none), how many images built on that
-- base show that content there (visible regular files and hardlinks of
-- image_files at the paths the rule judges). fleet_drift_manifests lists
-- the image manifests counted, with the indexed_at they had then: rules
-- runs add the images indexed since, and count everything again when one
-- counted was indexed again or is gone (RecordFleetFiles).
CREATE TABLE fleet_drift_counts (
    base_id    INTEGER NOT NULL,
    path_id    INTEGER NOT NULL,
    content_id INTEGER NOT NULL,
    images     INTEGER NOT NULL,
    PRIMARY KEY (base_id, path_id, content_id)
) WITHOUT ROWID;
CREATE TABLE fleet_drift_manifests (
    manifest_id INTEGER PRIMARY KEY,
    indexed_at  TEXT NOT NULL
);

-- Visibility computed again (a migration marks it stale), or a layer
-- dropped (its id may be reused): the counts are made again from scratch.
CREATE TRIGGER visibility_stale_drift AFTER INSERT ON visibility_stale BEGIN
    DELETE FROM fleet_drift_manifests;
END;
CREATE TRIGGER layers_drop_drift AFTER DELETE ON layers BEGIN
    DELETE FROM fleet_drift_manifests;
END;

-- fleet_drift: the counts, by base layer digest, path and sha256 (NULL:
-- no content), as of the latest rules run. Public.
CREATE VIEW fleet_drift AS
SELECT l.digest AS base_digest, p.path, c.sha256, d.images
FROM fleet_drift_counts d
JOIN layers l ON l.id = d.base_id
JOIN paths p ON p.id = d.path_id
LEFT JOIN contents c ON c.id = d.content_id;
