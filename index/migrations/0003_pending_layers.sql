-- 0003_pending_layers: layers being written in chunks.
--
-- A large layer's entries are written in several short transactions, before
-- its layers row exists, so they are invisible to every view (the views join
-- entries on their layers row and its first_entry..last_entry range). When it
-- begins, a layer reserves here a layers.id and a block of entries.id wide
-- enough for the most entries a layer may have; every other layer takes ids
-- above all reservations. Its layers row and its done mark are written, and
-- its reservation removed, in one last transaction. A reservation left by a
-- killed scan is removed, with the rows written under it, when the next scan
-- begins (under the scan lock, so never one still in use).
CREATE TABLE pending_layers (
    layer_id    INTEGER PRIMARY KEY, -- the layers.id it will have
    digest      TEXT NOT NULL,
    first_entry INTEGER NOT NULL,    -- first entries.id of the block
    last_entry  INTEGER NOT NULL,    -- last entries.id of the block
    started     TEXT NOT NULL
);
