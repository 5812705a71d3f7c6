-- 0014_content_overflow: the content patterns record at most so many matches
-- per file and per layer ([content] max_matches_per_file and
-- max_matches_per_layer); content_dropped counts, per file, the matches
-- found beyond them, so a file full of look-alikes costs a row, not millions.
CREATE TABLE content_dropped (
    layer_id INTEGER NOT NULL REFERENCES layers (id),
    entry_id INTEGER NOT NULL REFERENCES entries (id),
    dropped  INTEGER NOT NULL, -- matches found and not recorded
    PRIMARY KEY (layer_id, entry_id)
) WITHOUT ROWID;

CREATE TRIGGER layers_drop_content_dropped AFTER DELETE ON layers BEGIN
    DELETE FROM content_dropped WHERE layer_id = old.id;
END;

-- content_overflow: a file with more content matches than the caps let the
-- index record (content_matches has the first ones): how many more.
CREATE VIEW content_overflow AS
SELECT l.digest AS layer_digest, p.path, d.entry_id - l.first_entry AS seq, d.dropped
FROM content_dropped d
JOIN layers l ON l.id = d.layer_id
JOIN entries e ON e.id = d.entry_id
JOIN paths p ON p.id = e.path_id;
