-- 0003_packages: each image's packages, as index/migrations/0022_packages.sql
-- (the same tables and public views: packages, package_files, the package
-- column of image_files, the os columns of images).

CREATE TABLE image_package_state (
    manifest_id bigint PRIMARY KEY REFERENCES manifests (id),
    version     text NOT NULL,
    computed_at text NOT NULL,
    error       text
);

CREATE TABLE image_packages (
    manifest_id    bigint NOT NULL REFERENCES manifests (id),
    manager        text NOT NULL,
    name           text NOT NULL,
    version        text NOT NULL,
    architecture   text NOT NULL,
    source_name    text NOT NULL,
    source_version text NOT NULL,
    layer_position integer NOT NULL,
    records_digest text NOT NULL
);
CREATE INDEX image_packages_manifest ON image_packages (manifest_id, name);

CREATE TABLE image_package_files (
    manifest_id   bigint NOT NULL REFERENCES manifests (id),
    package       text NOT NULL,
    path          text NOT NULL,
    recorded_path text NOT NULL,
    algorithm     text NOT NULL,
    expected      text NOT NULL,
    actual        text NOT NULL,
    status        text NOT NULL
);
CREATE INDEX image_package_files_manifest ON image_package_files (manifest_id, path);

CREATE TABLE image_file_owners (
    manifest_id bigint NOT NULL REFERENCES manifests (id),
    path        text NOT NULL,
    packages    text NOT NULL,
    PRIMARY KEY (manifest_id, path)
);

ALTER TABLE manifests ADD COLUMN os_id text, ADD COLUMN os_version_id text, ADD COLUMN os_pretty_name text;

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
       m."user", m.workdir, m.entrypoint, m.cmd, m.env, m.labels,
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
       auditor_type_name(e.type) AS type, e.mode, e.uid, e.gid,
       CASE WHEN e.type = 3 AND e.content_id IS NOT NULL
            THEN COALESCE((SELECT s.size FROM entries s WHERE s.content_id = e.content_id AND s.type = 0 LIMIT 1), e.size)
            ELSE e.size END AS size,
       c.sha256, e.linkname,
       auditor_kind_name(CASE WHEN e.type = 3 AND e.content_id IS NOT NULL
            THEN COALESCE((SELECT s.kind FROM entries s WHERE s.content_id = e.content_id AND s.type = 0 LIMIT 1), e.kind)
            ELSE e.kind END) AS kind,
       h.seq IS NULL AS visible, h.hidden_by_position, auditor_hidden_how(h.how) AS hidden_how,
       e.uname, e.gname, e.mtime, e.raw_name, e.capabilities, e.seq,
       NULL::text AS written_via,
       o.packages AS package
FROM manifest_layers ml
JOIN manifests m ON m.id = ml.manifest_id
JOIN repo_manifests rm ON rm.manifest_id = ml.manifest_id
JOIN repositories r ON r.id = rm.repository_id
JOIN layers l ON l.id = ml.layer_id
JOIN entries e ON e.layer_id = l.id
JOIN paths p ON p.id = e.path_id
LEFT JOIN contents c ON c.id = e.content_id
LEFT JOIN hidden h ON h.manifest_id = ml.manifest_id AND h.layer_position = ml.position AND h.seq = e.seq
LEFT JOIN moved mv ON mv.manifest_id = ml.manifest_id AND mv.layer_position = ml.position AND mv.seq = e.seq
LEFT JOIN image_file_owners o ON o.manifest_id = ml.manifest_id AND o.path = p.path AND h.seq IS NULL
WHERE m.indexed_at IS NOT NULL AND mv.seq IS NULL
UNION ALL
SELECT m.digest AS image_digest, r.registry, r.name AS repository,
       ml.position AS layer_position, l.digest AS layer_digest, mp.path,
       CASE WHEN t.type = 0 THEN 'hardlink' ELSE auditor_type_name(COALESCE(t.type, e.type)) END AS type,
       COALESCE(t.mode, e.mode) AS mode, COALESCE(t.uid, e.uid) AS uid, COALESCE(t.gid, e.gid) AS gid,
       CASE WHEN t.seq IS NOT NULL THEN t.size
            WHEN e.type = 3 AND e.content_id IS NOT NULL
            THEN COALESCE((SELECT s.size FROM entries s WHERE s.content_id = e.content_id AND s.type = 0 LIMIT 1), e.size)
            ELSE e.size END AS size,
       c.sha256, CASE WHEN t.type = 0 OR t.seq IS NULL THEN e.linkname ELSE t.linkname END AS linkname,
       auditor_kind_name(COALESCE(t.kind, e.kind)) AS kind,
       h.seq IS NULL AS visible, h.hidden_by_position, auditor_hidden_how(h.how) AS hidden_how,
       CASE WHEN t.seq IS NULL THEN e.uname ELSE t.uname END AS uname,
       CASE WHEN t.seq IS NULL THEN e.gname ELSE t.gname END AS gname,
       e.mtime, e.raw_name,
       CASE WHEN t.seq IS NULL THEN e.capabilities ELSE t.capabilities END AS capabilities,
       e.seq,
       CASE WHEN mv.path_id <> e.path_id THEN p.path END AS written_via,
       o.packages AS package
FROM moved mv
JOIN manifest_layers ml ON ml.manifest_id = mv.manifest_id AND ml.position = mv.layer_position
JOIN manifests m ON m.id = ml.manifest_id
JOIN repo_manifests rm ON rm.manifest_id = ml.manifest_id
JOIN repositories r ON r.id = rm.repository_id
JOIN layers l ON l.id = ml.layer_id
JOIN entries e ON e.layer_id = l.id AND e.seq = mv.seq
JOIN paths p ON p.id = e.path_id
JOIN paths mp ON mp.id = mv.path_id
LEFT JOIN manifest_layers tl ON tl.manifest_id = mv.manifest_id AND tl.position = mv.inode_position
LEFT JOIN entries t ON t.layer_id = tl.layer_id AND t.seq = mv.inode_seq
LEFT JOIN contents c ON c.id = COALESCE(t.content_id, e.content_id)
LEFT JOIN hidden h ON h.manifest_id = ml.manifest_id AND h.layer_position = ml.position AND h.seq = e.seq
LEFT JOIN image_file_owners o ON o.manifest_id = ml.manifest_id AND o.path = mp.path AND h.seq IS NULL
WHERE m.indexed_at IS NOT NULL;
