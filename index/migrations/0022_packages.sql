-- 0022_packages: each image's packages, resolved from its visible package
-- database files (captured by the packages scanner, 0020) and its merged
-- view by the imagepkg package, once per image: image_package_state keeps
-- the resolver version each image was resolved with (a newer resolver
-- resolves every image again) and the error of a database file that did
-- not parse. A record's path is resolved through the image's own visible
-- symlinks (merged-/usr: dpkg's /bin/ls is /usr/bin/ls).
--
-- packages: the installed packages of each image, layer_position the layer
-- that last changed the package's records, records_digest
-- pkgdb.Package.RecordsDigest (the same records in every image give the
-- same digest).
-- package_files: every file record of every installed package, judged as
-- debsums, rpm -V and apk audit do: status ok, modified, missing,
-- conffile-modified, excluded, diverted, not-verifiable; path is where the
-- record lands in the merged view, recorded_path the path as the database
-- has it; expected and actual are lowercase hex digests in algorithm.
-- image_files.package: the packages owning a visible entry ("a, b" when
-- several do, as dpkg -S says; NULL when none does).
-- images.os_id, os_version_id, os_pretty_name: from /etc/os-release (else
-- /usr/lib/os-release).

CREATE TABLE image_package_state (
    manifest_id INTEGER PRIMARY KEY REFERENCES manifests (id),
    version     TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    error       TEXT
);

CREATE TABLE image_packages (
    manifest_id    INTEGER NOT NULL REFERENCES manifests (id),
    manager        TEXT NOT NULL,
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    architecture   TEXT NOT NULL,
    source_name    TEXT NOT NULL,
    source_version TEXT NOT NULL,
    layer_position INTEGER NOT NULL,
    records_digest TEXT NOT NULL
);
CREATE INDEX image_packages_manifest ON image_packages (manifest_id, name);

CREATE TABLE image_package_files (
    manifest_id   INTEGER NOT NULL REFERENCES manifests (id),
    package       TEXT NOT NULL,
    path          TEXT NOT NULL,
    recorded_path TEXT NOT NULL,
    algorithm     TEXT NOT NULL,
    expected      TEXT NOT NULL,
    actual        TEXT NOT NULL,
    status        TEXT NOT NULL
);
CREATE INDEX image_package_files_manifest ON image_package_files (manifest_id, path);

CREATE TABLE image_file_owners (
    manifest_id INTEGER NOT NULL REFERENCES manifests (id),
    path        TEXT NOT NULL,
    packages    TEXT NOT NULL,
    PRIMARY KEY (manifest_id, path)
) WITHOUT ROWID;

ALTER TABLE manifests ADD COLUMN os_id TEXT;
ALTER TABLE manifests ADD COLUMN os_version_id TEXT;
ALTER TABLE manifests ADD COLUMN os_pretty_name TEXT;

CREATE VIEW packages AS
SELECT m.digest AS image_digest, p.manager, p.name, p.version, p.architecture,
       p.source_name, p.source_version, p.layer_position, p.records_digest
FROM image_packages p
JOIN manifests m ON m.id = p.manifest_id
WHERE m.indexed_at IS NOT NULL;

CREATE VIEW package_files AS
SELECT m.digest AS image_digest, f.package, f.path, f.algorithm, f.expected, f.actual, f.status,
       f.recorded_path
FROM image_package_files f
JOIN manifests m ON m.id = f.manifest_id
WHERE m.indexed_at IS NOT NULL;

DROP VIEW images;
CREATE VIEW images AS
SELECT m.digest, r.registry, r.name AS repository, rm.index_digest,
       m.media_type, m.os, m.architecture, m.variant, m.config_digest, m.created,
       m.user, m.workdir, m.entrypoint, m.cmd, m.env, m.labels,
       m.exposed_ports, m.volumes, m.stop_signal, m.size AS manifest_size,
       rm.first_seen, rm.last_seen, m.healthcheck, m.onbuild, m.shell,
       m.os_id, m.os_version_id, m.os_pretty_name
FROM repo_manifests rm
JOIN manifests m ON m.id = rm.manifest_id
JOIN repositories r ON r.id = rm.repository_id
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
LEFT JOIN image_file_owners o ON o.manifest_id = ml.manifest_id AND o.path = p.path AND h.entry_id IS NULL
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
LEFT JOIN image_file_owners o ON o.manifest_id = ml.manifest_id AND o.path = mp.path AND h.entry_id IS NULL
WHERE m.indexed_at IS NOT NULL;
