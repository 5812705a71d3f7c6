-- 0013_fleet_images: "new to the fleet" is judged per image, against the
-- images recorded before it.
--
-- fleet_manifests remembers the rules run that first saw each indexed image
-- manifest (first_scan 0: the baseline, every image of the first run that
-- saw any). A (path, content) pair of fleet_contents is new for the images
-- first seen in the run that first saw the pair, and for no other: its
-- finding stays open while such an image is in the fleet, whatever later
-- scans look at. Rules runs read only the layers of indexed images, so a
-- layer of an image that failed is recorded with the image that indexes it.
CREATE TABLE fleet_manifests (
    manifest_id INTEGER PRIMARY KEY REFERENCES manifests (id),
    first_scan  INTEGER NOT NULL
);

-- An index whose runs recorded layers already: each indexed image all of
-- whose layers are recorded was first seen in the run that recorded the
-- last of them.
INSERT INTO fleet_manifests (manifest_id, first_scan)
SELECT ml.manifest_id, MAX(fl.first_scan)
FROM manifest_layers ml
JOIN manifests m ON m.id = ml.manifest_id AND m.indexed_at IS NOT NULL AND m.is_index = 0
LEFT JOIN fleet_layers fl ON fl.layer_id = ml.layer_id
GROUP BY ml.manifest_id
HAVING count(fl.layer_id) = count(*);

-- fleet_images: when each image was first seen by a rules run (scan id;
-- 0 = the baseline). Public.
CREATE VIEW fleet_images AS
SELECT m.digest AS image_digest, f.first_scan
FROM fleet_manifests f
JOIN manifests m ON m.id = f.manifest_id;
