-- 0001_init: the scan index.
--
-- Tables are private; the views at the end are the public contract that users,
-- rules and queries read (documented in README.md). Paths and content hashes
-- are interned (paths, contents) so that a file row costs a few integers, and
-- per-image visibility stores only the entries an image hides, so the database
-- grows with the number of unique layers, not with the images sharing them.

CREATE TABLE repositories (
    id       INTEGER PRIMARY KEY,
    registry TEXT NOT NULL,
    name     TEXT NOT NULL,
    UNIQUE (registry, name)
);

-- manifests holds image manifests and indexes (manifest lists), keyed by
-- digest. An image manifest is indexed (indexed_at set) only once all its
-- layers, its history and its visibility are stored.
CREATE TABLE manifests (
    id             INTEGER PRIMARY KEY,
    digest         TEXT NOT NULL UNIQUE,
    media_type     TEXT NOT NULL,
    is_index       INTEGER NOT NULL DEFAULT 0,
    size           INTEGER,
    config_digest  TEXT,
    created        TEXT,
    os             TEXT,
    architecture   TEXT,
    variant        TEXT,
    os_version     TEXT,
    user           TEXT,
    workdir        TEXT,
    entrypoint     TEXT, -- JSON array or NULL
    cmd            TEXT, -- JSON array or NULL
    env            TEXT, -- JSON array or NULL
    labels         TEXT, -- JSON object or NULL
    exposed_ports  TEXT, -- JSON array or NULL
    volumes        TEXT, -- JSON array or NULL
    stop_signal    TEXT,
    reader_version INTEGER,
    indexed_at     TEXT
);

-- index_children maps an index (manifest list) to the platform manifests it
-- lists, with the platform the index gives for each.
CREATE TABLE index_children (
    index_id     INTEGER NOT NULL REFERENCES manifests (id),
    position     INTEGER NOT NULL,
    child_digest TEXT NOT NULL,
    media_type   TEXT,
    os           TEXT,
    architecture TEXT,
    variant      TEXT,
    PRIMARY KEY (index_id, position)
) WITHOUT ROWID;

-- repo_manifests says which platform manifests a repository holds, and
-- through which index when the tag pointed at one ('' when it did not).
CREATE TABLE repo_manifests (
    repository_id INTEGER NOT NULL REFERENCES repositories (id),
    manifest_id   INTEGER NOT NULL REFERENCES manifests (id),
    index_digest  TEXT, -- the index a tag reached it through, last seen
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    PRIMARY KEY (repository_id, manifest_id)
) WITHOUT ROWID;
CREATE INDEX repo_manifests_manifest ON repo_manifests (manifest_id);

-- tag_history keeps every tag -> digest mapping ever seen.
CREATE TABLE tag_history (
    repository_id INTEGER NOT NULL REFERENCES repositories (id),
    tag           TEXT NOT NULL,
    digest        TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    PRIMARY KEY (repository_id, tag, digest)
) WITHOUT ROWID;
CREATE INDEX tag_history_digest ON tag_history (digest);

-- layers: one row per layer blob digest, written in the same transaction as
-- all its entries; a row here means the layer is fully indexed by
-- reader_version. Public: its columns from digest to entries are the
-- contract.
CREATE TABLE layers (
    id                INTEGER PRIMARY KEY,
    digest            TEXT NOT NULL UNIQUE,
    diff_id           TEXT,
    media_type        TEXT,
    compression       TEXT NOT NULL,
    size              INTEGER NOT NULL,
    uncompressed_size INTEGER NOT NULL,
    entries           INTEGER NOT NULL,
    first_entry       INTEGER NOT NULL, -- entries.id of its first tar entry
    last_entry        INTEGER NOT NULL, -- first_entry + entries - 1
    reader_version    INTEGER NOT NULL,
    indexed_at        TEXT NOT NULL
);
CREATE INDEX layers_diff_id ON layers (diff_id);

CREATE TABLE paths (
    id   INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE
);

-- contents interns the sha256 (lowercase hex) of regular file contents.
CREATE TABLE contents (
    id     INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE
);

-- entries: every tar entry of every layer. A layer's entries are written in
-- one transaction with consecutive ids, in tar order, so the range
-- layers.first_entry..last_entry finds them without another index.
-- type: 0 file, 1 dir, 2 symlink, 3 hardlink, 4 char, 5 block, 6 fifo,
--       7 whiteout, 8 opaque, 9 other.
-- kind: NULL (not a regular file), 0 other, 1 elf, 2 script, 3 empty.
CREATE TABLE entries (
    id           INTEGER PRIMARY KEY,
    layer_id     INTEGER NOT NULL REFERENCES layers (id),
    path_id      INTEGER NOT NULL REFERENCES paths (id),
    raw_name     TEXT,
    type         INTEGER NOT NULL,
    mode         INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    gid          INTEGER NOT NULL,
    uname        TEXT,
    gname        TEXT,
    size         INTEGER NOT NULL,
    mtime        INTEGER,
    content_id   INTEGER REFERENCES contents (id),
    linkname     TEXT,
    kind         INTEGER,
    capabilities TEXT
);
CREATE INDEX entries_path ON entries (path_id);
CREATE INDEX entries_content ON entries (content_id);

CREATE TABLE manifest_layers (
    manifest_id INTEGER NOT NULL REFERENCES manifests (id),
    position    INTEGER NOT NULL,
    layer_id    INTEGER NOT NULL REFERENCES layers (id),
    PRIMARY KEY (manifest_id, position)
) WITHOUT ROWID;
CREATE INDEX manifest_layers_layer ON manifest_layers (layer_id);

CREATE TABLE manifest_history (
    manifest_id    INTEGER NOT NULL REFERENCES manifests (id),
    position       INTEGER NOT NULL,
    created        TEXT,
    created_by     TEXT,
    comment        TEXT,
    author         TEXT,
    empty_layer    INTEGER NOT NULL,
    layer_position INTEGER,
    PRIMARY KEY (manifest_id, position)
) WITHOUT ROWID;

-- hidden: the entries an image does not show in its final filesystem.
-- how: 1 deleted (whiteout), 2 opaque (opaque directory), 3 overwritten,
--      4 marker (the whiteout or opaque marker entry itself).
CREATE TABLE hidden (
    manifest_id        INTEGER NOT NULL,
    entry_id           INTEGER NOT NULL,
    hidden_by_position INTEGER NOT NULL,
    how                INTEGER NOT NULL,
    PRIMARY KEY (manifest_id, entry_id)
) WITHOUT ROWID;

CREATE TABLE scans (
    id                  INTEGER PRIMARY KEY,
    started             TEXT NOT NULL,
    finished            TEXT,
    status              TEXT NOT NULL, -- running, ok, errors, failed, interrupted
    targets             TEXT,
    repositories        INTEGER NOT NULL DEFAULT 0,
    tags                INTEGER NOT NULL DEFAULT 0,
    images              INTEGER NOT NULL DEFAULT 0,
    layers_read         INTEGER NOT NULL DEFAULT 0,
    layers_skipped      INTEGER NOT NULL DEFAULT 0,
    files               INTEGER NOT NULL DEFAULT 0,
    bytes_read          INTEGER NOT NULL DEFAULT 0,
    errors              INTEGER NOT NULL DEFAULT 0,
    auditor_version     TEXT
);

CREATE TABLE scan_errors (
    id           INTEGER PRIMARY KEY,
    scan_id      INTEGER NOT NULL REFERENCES scans (id),
    registry     TEXT,
    repository   TEXT,
    reference    TEXT,
    layer_digest TEXT,
    message      TEXT NOT NULL
);
CREATE INDEX scan_errors_scan ON scan_errors (scan_id);

-- ---------------------------------------------------------------- public views
-- The views below, with layers, scans and scan_errors, are the public
-- contract documented in README.md. Lookups by path, sha256 and digest go
-- through unique indexes on paths, contents, manifests and layers.

CREATE VIEW tags AS
SELECT r.registry, r.name AS repository, t.tag, t.digest, t.first_seen, t.last_seen
FROM tag_history t
JOIN repositories r ON r.id = t.repository_id;

CREATE VIEW images AS
SELECT m.digest, r.registry, r.name AS repository, rm.index_digest,
       m.media_type, m.os, m.architecture, m.variant, m.config_digest, m.created,
       m.user, m.workdir, m.entrypoint, m.cmd, m.env, m.labels,
       m.exposed_ports, m.volumes, m.stop_signal, m.size AS manifest_size,
       rm.first_seen, rm.last_seen
FROM repo_manifests rm
JOIN manifests m ON m.id = rm.manifest_id
JOIN repositories r ON r.id = rm.repository_id
WHERE m.indexed_at IS NOT NULL;

CREATE VIEW image_layers AS
SELECT m.digest AS image_digest, ml.position, l.digest AS layer_digest
FROM manifest_layers ml
JOIN manifests m ON m.id = ml.manifest_id
JOIN layers l ON l.id = ml.layer_id
WHERE m.indexed_at IS NOT NULL;

CREATE VIEW history AS
SELECT m.digest AS image_digest, h.position, h.created, h.created_by, h.comment,
       h.author, h.empty_layer, h.layer_position
FROM manifest_history h
JOIN manifests m ON m.id = h.manifest_id
WHERE m.indexed_at IS NOT NULL;

CREATE VIEW files AS
SELECT l.digest AS layer_digest, p.path, e.raw_name,
       CASE e.type WHEN 0 THEN 'file' WHEN 1 THEN 'dir' WHEN 2 THEN 'symlink'
                   WHEN 3 THEN 'hardlink' WHEN 4 THEN 'char' WHEN 5 THEN 'block'
                   WHEN 6 THEN 'fifo' WHEN 7 THEN 'whiteout' WHEN 8 THEN 'opaque'
                   ELSE 'other' END AS type,
       e.mode, e.uid, e.gid, e.uname, e.gname, e.size, e.mtime, c.sha256, e.linkname,
       CASE e.kind WHEN 0 THEN 'other' WHEN 1 THEN 'elf' WHEN 2 THEN 'script'
                   WHEN 3 THEN 'empty' END AS kind,
       e.capabilities, e.id - l.first_entry AS seq
FROM entries e
JOIN layers l ON l.id = e.layer_id AND e.id BETWEEN l.first_entry AND l.last_entry
JOIN paths p ON p.id = e.path_id
LEFT JOIN contents c ON c.id = e.content_id;

CREATE VIEW image_files AS
SELECT m.digest AS image_digest, r.registry, r.name AS repository,
       ml.position AS layer_position, l.digest AS layer_digest, p.path,
       CASE e.type WHEN 0 THEN 'file' WHEN 1 THEN 'dir' WHEN 2 THEN 'symlink'
                   WHEN 3 THEN 'hardlink' WHEN 4 THEN 'char' WHEN 5 THEN 'block'
                   WHEN 6 THEN 'fifo' WHEN 7 THEN 'whiteout' WHEN 8 THEN 'opaque'
                   ELSE 'other' END AS type,
       e.mode, e.uid, e.gid, e.size, c.sha256, e.linkname,
       CASE e.kind WHEN 0 THEN 'other' WHEN 1 THEN 'elf' WHEN 2 THEN 'script'
                   WHEN 3 THEN 'empty' END AS kind,
       h.entry_id IS NULL AS visible, h.hidden_by_position,
       CASE h.how WHEN 1 THEN 'deleted' WHEN 2 THEN 'opaque' WHEN 3 THEN 'overwritten'
                  WHEN 4 THEN 'marker' END AS hidden_how,
       e.uname, e.gname, e.mtime, e.raw_name, e.capabilities, e.id - l.first_entry AS seq
FROM manifest_layers ml
JOIN manifests m ON m.id = ml.manifest_id
JOIN repo_manifests rm ON rm.manifest_id = ml.manifest_id
JOIN repositories r ON r.id = rm.repository_id
JOIN layers l ON l.id = ml.layer_id
JOIN entries e ON e.layer_id = l.id AND e.id BETWEEN l.first_entry AND l.last_entry
JOIN paths p ON p.id = e.path_id
LEFT JOIN contents c ON c.id = e.content_id
LEFT JOIN hidden h ON h.manifest_id = ml.manifest_id AND h.entry_id = e.id
WHERE m.indexed_at IS NOT NULL;
