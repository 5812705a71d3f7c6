-- 0003: the media type of a layer as each image's manifest gives it.
--
-- One blob can be listed by a Docker manifest and by an OCI manifest under
-- different media types; layers.media_type only keeps the first one seen, so
-- image_layers now shows each image's own.

ALTER TABLE manifest_layers ADD COLUMN media_type TEXT;

DROP VIEW image_layers;
CREATE VIEW image_layers AS
SELECT m.digest AS image_digest, ml.position, l.digest AS layer_digest,
       COALESCE(ml.media_type, l.media_type) AS media_type
FROM manifest_layers ml
JOIN manifests m ON m.id = ml.manifest_id
JOIN layers l ON l.id = ml.layer_id
WHERE m.indexed_at IS NOT NULL;
