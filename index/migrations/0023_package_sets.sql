-- 0023_package_sets: each image's package file records and file owners are
-- kept once per distinct set, not once per image (issue 19). Images built on
-- one base resolve to the same records: on make-big's fleet 32 images held
-- 256,928 package_files rows and 121,152 owner rows, 8,029 and 3,786 per
-- image, of which two distinct sets each; the per-image tables were 64% of
-- the index. A set is named by the sha256 of its rows in a canonical order
-- (index/packagesets.go), so two images share one only when their rows are
-- the same. image_package_state names each image's two sets (NULL when it
-- has no such rows); a set no image names is deleted with its rows.
--
-- package_set_files: recorded_path NULL when it is path, actual NULL when
-- it is expected (the view gives both back); seq numbers the rows of a set.
-- Both set tables are WITHOUT ROWID: each is only its index.
-- The public views (package_files, image_files.package) are unchanged.

CREATE TABLE package_sets (
    id     INTEGER PRIMARY KEY,
    digest BLOB NOT NULL UNIQUE
);

CREATE TABLE package_set_files (
    set_id        INTEGER NOT NULL REFERENCES package_sets (id),
    path          TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    package       TEXT NOT NULL,
    recorded_path TEXT,
    algorithm     TEXT NOT NULL,
    expected      TEXT NOT NULL,
    actual        TEXT,
    status        TEXT NOT NULL,
    PRIMARY KEY (set_id, path, seq)
) WITHOUT ROWID;

CREATE TABLE package_set_owners (
    set_id   INTEGER NOT NULL REFERENCES package_sets (id),
    path     TEXT NOT NULL,
    packages TEXT NOT NULL,
    PRIMARY KEY (set_id, path)
) WITHOUT ROWID;

ALTER TABLE image_package_state ADD COLUMN files_set INTEGER REFERENCES package_sets (id);
ALTER TABLE image_package_state ADD COLUMN owners_set INTEGER REFERENCES package_sets (id);
CREATE INDEX image_package_state_files ON image_package_state (files_set);
CREATE INDEX image_package_state_owners ON image_package_state (owners_set);

-- The rows of image_package_files and image_file_owners move into sets in
-- Go (index.convertPackageSets), which then drops both tables.

DROP VIEW package_files;
CREATE VIEW package_files AS
SELECT m.digest AS image_digest, f.package, f.path, f.algorithm, f.expected,
       COALESCE(f.actual, f.expected) AS actual, f.status,
       COALESCE(f.recorded_path, f.path) AS recorded_path
FROM image_package_state s
JOIN package_set_files f ON f.set_id = s.files_set
JOIN manifests m ON m.id = s.manifest_id
WHERE m.indexed_at IS NOT NULL;

DROP VIEW image_files;
CREATE VIEW image_files AS
SELECT m.digest AS image_digest, r.registry, r.name AS repository,
       ml.position AS layer_position, l.digest AS layer_digest, p.path,
       CASE e.type WHEN 0 THEN 'file' WHEN 1 THEN 'dir' WHEN 2 THEN 'symlink'
                   WHEN 3 THEN 'hardlink' WHEN 4 THEN 'char' WHEN 5 THEN 'block'
                   WHEN 6 THEN 'fifo' WHEN 7 THEN 'whiteout' WHEN 8 THEN 'opaque'
                   ELSE 'other' END AS type,
       e.mode, e.uid, e.gid,
       CASE WHEN e.type = 3 AND e.content_id IS NOT NULL
            THEN COALESCE((SELECT s.size FROM entries s WHERE s.content_id = e.content_id AND s.type = 0 LIMIT 1), e.size)
            ELSE e.size END AS size,
       c.sha256, e.linkname,
       CASE CASE WHEN e.type = 3 AND e.content_id IS NOT NULL
                 THEN COALESCE((SELECT s.kind FROM entries s WHERE s.content_id = e.content_id AND s.type = 0 LIMIT 1), e.kind)
                 ELSE e.kind END
            WHEN 0 THEN 'other' WHEN 1 THEN 'elf' WHEN 2 THEN 'script' WHEN 3 THEN 'empty' END AS kind,
       h.entry_id IS NULL AS visible, h.hidden_by_position,
       CASE h.how WHEN 1 THEN 'deleted' WHEN 2 THEN 'opaque' WHEN 3 THEN 'overwritten'
                  WHEN 4 THEN 'marker' END AS hidden_how,
       e.uname, e.gname, e.mtime, e.raw_name, e.capabilities, e.id - l.first_entry AS seq,
       NULL AS written_via,
       o.packages AS package
FROM manifest_layers ml
JOIN manifests m ON m.id = ml.manifest_id
JOIN repo_manifests rm ON rm.manifest_id = ml.manifest_id
JOIN repositories r ON r.id = rm.repository_id
JOIN layers l ON l.id = ml.layer_id
JOIN entries e ON e.layer_id = l.id AND e.id BETWEEN l.first_entry AND l.last_entry
JOIN paths p ON p.id = e.path_id
LEFT JOIN contents c ON c.id = e.content_id
LEFT JOIN hidden h ON h.manifest_id = ml.manifest_id AND h.layer_position = ml.position AND h.entry_id = e.id
LEFT JOIN moved mv ON mv.manifest_id = ml.manifest_id AND mv.layer_position = ml.position AND mv.entry_id = e.id
LEFT JOIN image_package_state ps ON ps.manifest_id = ml.manifest_id
LEFT JOIN package_set_owners o ON o.set_id = ps.owners_set AND o.path = p.path AND h.entry_id IS NULL
WHERE m.indexed_at IS NOT NULL AND mv.entry_id IS NULL
UNION ALL
SELECT m.digest AS image_digest, r.registry, r.name AS repository,
       ml.position AS layer_position, l.digest AS layer_digest, mp.path,
       CASE COALESCE(t.type, e.type) WHEN 0 THEN CASE WHEN t.id IS NULL THEN 'file' ELSE 'hardlink' END
                   WHEN 1 THEN 'dir' WHEN 2 THEN 'symlink'
                   WHEN 3 THEN 'hardlink' WHEN 4 THEN 'char' WHEN 5 THEN 'block'
                   WHEN 6 THEN 'fifo' WHEN 7 THEN 'whiteout' WHEN 8 THEN 'opaque'
                   ELSE 'other' END AS type,
       COALESCE(t.mode, e.mode) AS mode, COALESCE(t.uid, e.uid) AS uid, COALESCE(t.gid, e.gid) AS gid,
       CASE WHEN t.id IS NOT NULL THEN t.size
            WHEN e.type = 3 AND e.content_id IS NOT NULL
            THEN COALESCE((SELECT s.size FROM entries s WHERE s.content_id = e.content_id AND s.type = 0 LIMIT 1), e.size)
            ELSE e.size END AS size,
       c.sha256, CASE WHEN t.type = 0 OR t.id IS NULL THEN e.linkname ELSE t.linkname END AS linkname,
       CASE COALESCE(t.kind, e.kind) WHEN 0 THEN 'other' WHEN 1 THEN 'elf' WHEN 2 THEN 'script'
                   WHEN 3 THEN 'empty' END AS kind,
       h.entry_id IS NULL AS visible, h.hidden_by_position,
       CASE h.how WHEN 1 THEN 'deleted' WHEN 2 THEN 'opaque' WHEN 3 THEN 'overwritten'
                  WHEN 4 THEN 'marker' END AS hidden_how,
       CASE WHEN t.id IS NULL THEN e.uname ELSE t.uname END AS uname,
       CASE WHEN t.id IS NULL THEN e.gname ELSE t.gname END AS gname,
       e.mtime, e.raw_name,
       CASE WHEN t.id IS NULL THEN e.capabilities ELSE t.capabilities END AS capabilities,
       e.id - l.first_entry AS seq,
       CASE WHEN mv.path_id != e.path_id THEN p.path END AS written_via,
       o.packages AS package
FROM moved mv
JOIN manifest_layers ml ON ml.manifest_id = mv.manifest_id AND ml.position = mv.layer_position
JOIN manifests m ON m.id = ml.manifest_id
JOIN repo_manifests rm ON rm.manifest_id = ml.manifest_id
JOIN repositories r ON r.id = rm.repository_id
JOIN layers l ON l.id = ml.layer_id
JOIN entries e ON e.id = mv.entry_id
JOIN paths p ON p.id = e.path_id
JOIN paths mp ON mp.id = mv.path_id
LEFT JOIN entries t ON t.id = mv.inode_entry_id
LEFT JOIN contents c ON c.id = COALESCE(t.content_id, e.content_id)
LEFT JOIN hidden h ON h.manifest_id = ml.manifest_id AND h.layer_position = ml.position AND h.entry_id = e.id
LEFT JOIN image_package_state ps ON ps.manifest_id = ml.manifest_id
LEFT JOIN package_set_owners o ON o.set_id = ps.owners_set AND o.path = mp.path AND h.entry_id IS NULL
WHERE m.indexed_at IS NOT NULL;
