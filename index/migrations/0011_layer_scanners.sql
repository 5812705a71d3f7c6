-- 0011_layer_scanners: per-layer scanners. Each scanner (content patterns,
-- and the ones added after) has a name and a version; a layer read by a
-- scanner at a version is recorded here, with the scanner's failure on
-- that layer if it had one. A layer without a row for a scanner's current
-- version is read again for that scanner only (its entries are not written
-- twice). content_checks, the content patterns' version per layer, becomes
-- the rows of the scanner "content".
CREATE TABLE layer_scanners (
    layer_id   INTEGER NOT NULL REFERENCES layers (id),
    scanner    TEXT NOT NULL,
    version    TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    error      TEXT, -- why the scanner failed on this layer; NULL when it did not
    PRIMARY KEY (layer_id, scanner)
) WITHOUT ROWID;

INSERT INTO layer_scanners (layer_id, scanner, version, scanned_at)
SELECT layer_id, 'content', version, checked_at FROM content_checks;

DROP VIEW content_matches;
DROP TRIGGER layers_drop_content;
DROP TABLE content_checks;

CREATE TRIGGER layers_drop_content AFTER DELETE ON layers BEGIN
    DELETE FROM content_hits WHERE layer_id = old.id;
    DELETE FROM layer_scanners WHERE layer_id = old.id;
    DELETE FROM fleet_layers WHERE layer_id = old.id;
END;

-- content_matches: one row per pattern match in a regular file of a layer.
CREATE VIEW content_matches AS
SELECT l.digest AS layer_digest, p.path, h.pattern_id, h.excerpt, h."offset",
       h.entry_id - l.first_entry AS seq, c.version AS patterns_version
FROM content_hits h
JOIN layers l ON l.id = h.layer_id
JOIN entries e ON e.id = h.entry_id
JOIN paths p ON p.id = e.path_id
JOIN layer_scanners c ON c.layer_id = h.layer_id AND c.scanner = 'content';

-- layer_scans: which scanner read each layer, at which version, and its
-- error on that layer (NULL when it had none).
CREATE VIEW layer_scans AS
SELECT l.digest AS layer_digest, s.scanner, s.version, s.scanned_at, s.error
FROM layer_scanners s
JOIN layers l ON l.id = s.layer_id;
