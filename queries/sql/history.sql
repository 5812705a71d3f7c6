-- history: an image's history entries, bottom first, with the layer each
-- made (if any). ?1 image digest.
SELECT h.position, h.created, h.created_by, h.comment, h.empty_layer, h.layer_position,
       il.layer_digest, l.size, l.uncompressed_size, l.entries
FROM history h
LEFT JOIN image_layers il ON il.image_digest = h.image_digest AND il.position = h.layer_position
LEFT JOIN layers l ON l.digest = il.layer_digest
WHERE h.image_digest = ?1
ORDER BY h.position;
