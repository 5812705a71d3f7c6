-- 0019_layer_name_bytes: the bytes of each layer's entry paths and link
-- targets, so the visibility computation bounds the memory of its in-memory
-- tree by bytes, not only by entries (NULL for layers indexed before: their
-- bytes are summed from the entries when an image needs them).
ALTER TABLE layers ADD COLUMN name_bytes INTEGER;
