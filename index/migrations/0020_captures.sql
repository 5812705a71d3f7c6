-- 0020_captures: what the package scanner keeps of each layer. The raw
-- bytes of package database files (dpkg, apk, rpm) and os-release, once per
-- content (content_blobs, zstd-compressed), and which entries of a layer
-- were kept (captured_entries), so the images' package views can be
-- resolved from the visible ones without reading a blob again. md5 and
-- sha1 of the contents of regular files under package-managed directories,
-- once per content, for the databases that record those digests.
ALTER TABLE contents ADD COLUMN md5 TEXT;
ALTER TABLE contents ADD COLUMN sha1 TEXT;

CREATE TABLE content_blobs (
    content_id  INTEGER PRIMARY KEY REFERENCES contents (id),
    size        INTEGER NOT NULL,     -- bytes of the content
    compression TEXT NOT NULL,        -- zstd or none
    data        BLOB NOT NULL
);

CREATE TABLE captured_entries (
    entry_id INTEGER PRIMARY KEY REFERENCES entries (id),
    layer_id INTEGER NOT NULL REFERENCES layers (id)
);
CREATE INDEX captured_entries_layer ON captured_entries (layer_id);

CREATE TRIGGER layers_drop_captures AFTER DELETE ON layers BEGIN
    DELETE FROM captured_entries WHERE layer_id = old.id;
END;

-- package_db_files: a package database or os-release file of a layer whose
-- bytes the index holds (DB.Capture reads them by sha256).
CREATE VIEW package_db_files AS
SELECT l.digest AS layer_digest, p.path, x.entry_id - l.first_entry AS seq, c.sha256, b.size
FROM captured_entries x
JOIN layers l ON l.id = x.layer_id
JOIN entries e ON e.id = x.entry_id
JOIN paths p ON p.id = e.path_id
JOIN contents c ON c.id = e.content_id
JOIN content_blobs b ON b.content_id = e.content_id;

-- content_digests: the md5 and sha1 of contents computed as layers were
-- read (regular files under package-managed directories).
CREATE VIEW content_digests AS
SELECT sha256, md5, sha1 FROM contents WHERE md5 IS NOT NULL;
