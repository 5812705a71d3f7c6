-- image_layers: an image's layers, bottom first. ?1 image digest.
SELECT il.position, il.layer_digest, l.size, l.uncompressed_size, l.entries
FROM image_layers il
JOIN layers l ON l.digest = il.layer_digest
WHERE il.image_digest = ?1
ORDER BY il.position;
