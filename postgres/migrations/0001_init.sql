-- The PostgreSQL index: the same public views as the SQLite one (index/migrations),
-- with the same columns and meanings, over private tables of its own. Text values
-- are stored as the back end's name encoding says (postgres/text.go): a value that
-- is valid UTF-8 without NUL as it is. Booleans of the views (visible, current,
-- empty_layer) are boolean; the operators at the end compare them with 0 and 1 as
-- SQLite's integers are.

CREATE TABLE repositories (
    id       bigserial PRIMARY KEY,
    registry text NOT NULL,
    name     text NOT NULL,
    UNIQUE (registry, name)
);

CREATE TABLE manifests (
    id             bigserial PRIMARY KEY,
    digest         text NOT NULL UNIQUE,
    media_type     text NOT NULL,
    is_index       boolean NOT NULL DEFAULT false,
    size           bigint,
    config_digest  text,
    created        text,
    os             text,
    architecture   text,
    variant        text,
    os_version     text,
    "user"         text,
    workdir        text,
    entrypoint     text,
    cmd            text,
    env            text,
    labels         text,
    exposed_ports  text,
    volumes        text,
    stop_signal    text,
    reader_version integer,
    indexed_at     text,
    healthcheck    text,
    onbuild        text,
    shell          text,
    config_version integer
);

CREATE TABLE index_children (
    index_id     bigint NOT NULL REFERENCES manifests (id),
    position     integer NOT NULL,
    child_digest text NOT NULL,
    media_type   text,
    os           text,
    architecture text,
    variant      text,
    PRIMARY KEY (index_id, position)
);

CREATE TABLE repo_manifests (
    repository_id bigint NOT NULL REFERENCES repositories (id),
    manifest_id   bigint NOT NULL REFERENCES manifests (id),
    index_digest  text,
    first_seen    text NOT NULL,
    last_seen     text NOT NULL,
    PRIMARY KEY (repository_id, manifest_id)
);
CREATE INDEX repo_manifests_manifest ON repo_manifests (manifest_id);

CREATE TABLE tag_history (
    repository_id bigint NOT NULL REFERENCES repositories (id),
    tag           text NOT NULL,
    digest        text NOT NULL,
    first_seen    text NOT NULL,
    last_seen     text NOT NULL,
    gone          text,
    PRIMARY KEY (repository_id, tag, digest)
);
CREATE INDEX tag_history_digest ON tag_history (digest);

CREATE TABLE tag_events (
    repository_id bigint NOT NULL REFERENCES repositories (id),
    tag           text NOT NULL,
    at            text NOT NULL,
    digest        text,
    PRIMARY KEY (repository_id, tag, at)
);

-- A layer's row is inserted in the transaction that copied its entries, so a layer
-- is visible whole or not at all (a killed writer's transaction is rolled back).
CREATE TABLE layers (
    id                bigint PRIMARY KEY, -- from layer_ids, taken when the layer is begun
    digest            text NOT NULL UNIQUE,
    diff_id           text,
    media_type        text,
    compression       text NOT NULL,
    size              bigint NOT NULL,
    uncompressed_size bigint NOT NULL,
    entries           bigint NOT NULL,
    reader_version    integer NOT NULL,
    indexed_at        text NOT NULL,
    name_bytes        bigint
);
CREATE SEQUENCE layer_ids;
CREATE INDEX layers_diff_id ON layers (diff_id);

CREATE TABLE paths (
    id   bigserial PRIMARY KEY,
    path text NOT NULL UNIQUE
);

CREATE TABLE contents (
    id     bigserial PRIMARY KEY,
    sha256 text NOT NULL UNIQUE,
    md5    text,
    sha1   text
);

-- An entry is (layer_id, seq): its layer and its place in the tar, from 0.
CREATE TABLE entries (
    layer_id     bigint NOT NULL,
    seq          bigint NOT NULL,
    path_id      bigint NOT NULL,
    raw_name     text,
    type         smallint NOT NULL,
    mode         bigint NOT NULL,
    uid          bigint NOT NULL,
    gid          bigint NOT NULL,
    uname        text,
    gname        text,
    size         bigint NOT NULL,
    mtime        bigint,
    content_id   bigint,
    linkname     text,
    kind         smallint,
    capabilities text,
    PRIMARY KEY (layer_id, seq)
);
CREATE INDEX entries_path ON entries (path_id);
CREATE INDEX entries_content ON entries (content_id);

CREATE TABLE manifest_layers (
    manifest_id bigint NOT NULL REFERENCES manifests (id),
    position    integer NOT NULL,
    layer_id    bigint NOT NULL REFERENCES layers (id),
    media_type  text,
    PRIMARY KEY (manifest_id, position)
);
CREATE INDEX manifest_layers_layer ON manifest_layers (layer_id);

CREATE TABLE manifest_history (
    manifest_id    bigint NOT NULL REFERENCES manifests (id),
    position       integer NOT NULL,
    created        text,
    created_by     text,
    comment        text,
    author         text,
    empty_layer    boolean NOT NULL,
    layer_position integer,
    "user"         text,
    PRIMARY KEY (manifest_id, position)
);

-- The entries of an image's layers that its final filesystem does not show.
CREATE TABLE hidden (
    manifest_id        bigint NOT NULL,
    layer_position     integer NOT NULL,
    seq                bigint NOT NULL,
    hidden_by_position integer NOT NULL,
    how                smallint NOT NULL,
    PRIMARY KEY (manifest_id, layer_position, seq)
);

-- Entries that land elsewhere than their tar path, and hardlinks whose file says
-- more than their own header (inode_position, inode_seq: the entry of the file).
CREATE TABLE moved (
    manifest_id    bigint NOT NULL,
    layer_position integer NOT NULL,
    seq            bigint NOT NULL,
    path_id        bigint NOT NULL,
    inode_position integer,
    inode_seq      bigint,
    PRIMARY KEY (manifest_id, layer_position, seq)
);
CREATE INDEX moved_path ON moved (path_id);

CREATE TABLE scans (
    id              bigserial PRIMARY KEY,
    started         text NOT NULL,
    finished        text,
    status          text NOT NULL,
    targets         text,
    repositories    bigint NOT NULL DEFAULT 0,
    tags            bigint NOT NULL DEFAULT 0,
    images          bigint NOT NULL DEFAULT 0,
    layers_read     bigint NOT NULL DEFAULT 0,
    layers_skipped  bigint NOT NULL DEFAULT 0,
    files           bigint NOT NULL DEFAULT 0,
    bytes_read      bigint NOT NULL DEFAULT 0,
    errors          bigint NOT NULL DEFAULT 0,
    auditor_version text
);

CREATE TABLE scan_errors (
    id           bigserial PRIMARY KEY,
    scan_id      bigint NOT NULL REFERENCES scans (id),
    registry     text,
    repository   text,
    reference    text,
    layer_digest text,
    message      text NOT NULL
);
CREATE INDEX scan_errors_scan ON scan_errors (scan_id);

CREATE TABLE artifact_manifests (
    digest     text PRIMARY KEY,
    reason     text NOT NULL,
    first_seen text NOT NULL
);

CREATE TABLE layer_scanners (
    layer_id   bigint NOT NULL REFERENCES layers (id) ON DELETE CASCADE,
    scanner    text NOT NULL,
    version    text NOT NULL,
    scanned_at text NOT NULL,
    error      text,
    PRIMARY KEY (layer_id, scanner)
);

CREATE TABLE content_hits (
    layer_id   bigint NOT NULL,
    seq        bigint NOT NULL,
    pattern_id text NOT NULL,
    "offset"   bigint NOT NULL,
    excerpt    text NOT NULL,
    PRIMARY KEY (layer_id, seq, pattern_id, "offset")
);

CREATE TABLE content_dropped (
    layer_id bigint NOT NULL,
    seq      bigint NOT NULL,
    dropped  bigint NOT NULL,
    PRIMARY KEY (layer_id, seq)
);

CREATE TABLE config_entries (
    layer_id bigint NOT NULL,
    seq      bigint NOT NULL,
    kind     text NOT NULL,
    error    text,
    PRIMARY KEY (layer_id, seq)
);

CREATE TABLE config_parsed (
    content_id bigint NOT NULL,
    kind       text NOT NULL,
    version    text NOT NULL,
    PRIMARY KEY (content_id, kind)
);

CREATE TABLE config_lines (
    content_id bigint NOT NULL,
    line       integer NOT NULL,
    text       text NOT NULL,
    PRIMARY KEY (content_id, line)
);

CREATE TABLE config_rows (
    content_id bigint NOT NULL,
    kind       text NOT NULL,
    type       text NOT NULL,
    line       integer NOT NULL,
    a text, b text, c text, d text, e text, f text,
    n1 bigint, n2 bigint
);
CREATE INDEX config_rows_content ON config_rows (content_id, kind, type);

CREATE TABLE content_blobs (
    content_id  bigint PRIMARY KEY REFERENCES contents (id),
    size        bigint NOT NULL,
    compression text NOT NULL,
    data        bytea NOT NULL
);

CREATE TABLE captured_entries (
    layer_id bigint NOT NULL,
    seq      bigint NOT NULL,
    PRIMARY KEY (layer_id, seq)
);

-- Rules and findings.
CREATE TABLE rule_evals (
    scan_id  bigint PRIMARY KEY,
    started  text NOT NULL,
    finished text,
    rules    bigint NOT NULL DEFAULT 0,
    findings bigint NOT NULL DEFAULT 0,
    new      bigint NOT NULL DEFAULT 0,
    resolved bigint NOT NULL DEFAULT 0
);

CREATE TABLE finding_rows (
    fingerprint      text PRIMARY KEY,
    rule_id          text NOT NULL,
    severity         text NOT NULL,
    title            text NOT NULL,
    image_digest     text NOT NULL,
    layer_digest     text,
    path             text,
    detail           text NOT NULL,
    first_seen       bigint NOT NULL,
    last_seen        bigint NOT NULL,
    new_in           bigint NOT NULL,
    resolved_in      bigint,
    suppressed       text,
    suppressed_until text
);
CREATE INDEX finding_rows_rule ON finding_rows (rule_id, resolved_in);
CREATE INDEX finding_rows_image ON finding_rows (image_digest);

CREATE TABLE fleet_layers (
    layer_id   bigint PRIMARY KEY,
    first_scan bigint NOT NULL
);

CREATE TABLE fleet_contents (
    path_id    bigint NOT NULL,
    content_id bigint NOT NULL,
    first_scan bigint NOT NULL,
    PRIMARY KEY (path_id, content_id)
);
CREATE INDEX fleet_contents_scan ON fleet_contents (first_scan);

CREATE TABLE fleet_manifests (
    manifest_id bigint PRIMARY KEY,
    first_scan  bigint NOT NULL
);

CREATE TABLE rule_image_evals (
    rule_id      text NOT NULL,
    image_digest text NOT NULL,
    version      text NOT NULL,
    stamp        text NOT NULL,
    PRIMARY KEY (rule_id, image_digest)
);

CREATE TABLE rule_scope (
    rule_id      text NOT NULL,
    image_digest text NOT NULL,
    PRIMARY KEY (rule_id, image_digest)
);

-- Booleans compared with SQLite's 0 and 1.
CREATE FUNCTION auditor_bool_eq_int(boolean, integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT $1::integer = $2';
CREATE FUNCTION auditor_bool_ne_int(boolean, integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT $1::integer <> $2';
CREATE OPERATOR = (LEFTARG = boolean, RIGHTARG = integer, FUNCTION = auditor_bool_eq_int, NEGATOR = <>);
CREATE OPERATOR <> (LEFTARG = boolean, RIGHTARG = integer, FUNCTION = auditor_bool_ne_int, NEGATOR = =);

-- The public views.

CREATE VIEW tags AS
SELECT r.registry, r.name AS repository, t.tag, t.digest, t.first_seen, t.last_seen, t.gone,
       (t.gone IS NULL AND NOT EXISTS (SELECT 1 FROM tag_history n
            WHERE n.repository_id = t.repository_id AND n.tag = t.tag AND n.last_seen > t.last_seen)) AS current
FROM tag_history t
JOIN repositories r ON r.id = t.repository_id;

CREATE VIEW images AS
SELECT m.digest, r.registry, r.name AS repository, rm.index_digest,
       m.media_type, m.os, m.architecture, m.variant, m.config_digest, m.created,
       m."user", m.workdir, m.entrypoint, m.cmd, m.env, m.labels,
       m.exposed_ports, m.volumes, m.stop_signal, m.size AS manifest_size,
       rm.first_seen, rm.last_seen, m.healthcheck, m.onbuild, m.shell
FROM repo_manifests rm
JOIN manifests m ON m.id = rm.manifest_id
JOIN repositories r ON r.id = rm.repository_id
WHERE m.indexed_at IS NOT NULL;

CREATE VIEW image_layers AS
SELECT m.digest AS image_digest, ml.position, l.digest AS layer_digest,
       COALESCE(ml.media_type, l.media_type) AS media_type
FROM manifest_layers ml
JOIN manifests m ON m.id = ml.manifest_id
JOIN layers l ON l.id = ml.layer_id
WHERE m.indexed_at IS NOT NULL;

CREATE VIEW history AS
SELECT m.digest AS image_digest, h.position, h.created, h.created_by, h.comment,
       h.author, h.empty_layer, h.layer_position, h."user"
FROM manifest_history h
JOIN manifests m ON m.id = h.manifest_id
WHERE m.indexed_at IS NOT NULL;

CREATE FUNCTION auditor_type_name(smallint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE $1 WHEN 0 THEN 'file' WHEN 1 THEN 'dir' WHEN 2 THEN 'symlink'
                   WHEN 3 THEN 'hardlink' WHEN 4 THEN 'char' WHEN 5 THEN 'block'
                   WHEN 6 THEN 'fifo' WHEN 7 THEN 'whiteout' WHEN 8 THEN 'opaque'
                   ELSE 'other' END $$;
CREATE FUNCTION auditor_kind_name(smallint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE $1 WHEN 0 THEN 'other' WHEN 1 THEN 'elf' WHEN 2 THEN 'script' WHEN 3 THEN 'empty' END $$;
CREATE FUNCTION auditor_hidden_how(smallint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE $1 WHEN 1 THEN 'deleted' WHEN 2 THEN 'opaque' WHEN 3 THEN 'overwritten' WHEN 4 THEN 'marker' END $$;

CREATE VIEW files AS
SELECT l.digest AS layer_digest, p.path, e.raw_name, auditor_type_name(e.type) AS type,
       e.mode, e.uid, e.gid, e.uname, e.gname, e.size, e.mtime, c.sha256, e.linkname,
       auditor_kind_name(e.kind) AS kind, e.capabilities, e.seq
FROM entries e
JOIN layers l ON l.id = e.layer_id
JOIN paths p ON p.id = e.path_id
LEFT JOIN contents c ON c.id = e.content_id;

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
       NULL::text AS written_via
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
       CASE WHEN mv.path_id <> e.path_id THEN p.path END AS written_via
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
WHERE m.indexed_at IS NOT NULL;

CREATE VIEW artifacts AS
SELECT digest, reason, first_seen FROM artifact_manifests;

CREATE VIEW layer_scans AS
SELECT l.digest AS layer_digest, s.scanner, s.version, s.scanned_at, s.error
FROM layer_scanners s
JOIN layers l ON l.id = s.layer_id;

CREATE VIEW content_matches AS
SELECT l.digest AS layer_digest, p.path, h.pattern_id, h.excerpt, h."offset",
       h.seq, c.version AS patterns_version
FROM content_hits h
JOIN layers l ON l.id = h.layer_id
JOIN entries e ON e.layer_id = h.layer_id AND e.seq = h.seq
JOIN paths p ON p.id = e.path_id
JOIN layer_scanners c ON c.layer_id = h.layer_id AND c.scanner = 'content';

CREATE VIEW content_overflow AS
SELECT l.digest AS layer_digest, p.path, d.seq, d.dropped
FROM content_dropped d
JOIN layers l ON l.id = d.layer_id
JOIN entries e ON e.layer_id = d.layer_id AND e.seq = d.seq
JOIN paths p ON p.id = e.path_id;

CREATE VIEW package_db_files AS
SELECT l.digest AS layer_digest, p.path, x.seq, c.sha256, b.size
FROM captured_entries x
JOIN layers l ON l.id = x.layer_id
JOIN entries e ON e.layer_id = x.layer_id AND e.seq = x.seq
JOIN paths p ON p.id = e.path_id
JOIN contents c ON c.id = e.content_id
JOIN content_blobs b ON b.content_id = e.content_id;

CREATE VIEW content_digests AS
SELECT sha256, md5, sha1 FROM contents WHERE md5 IS NOT NULL;

CREATE VIEW file_history AS
SELECT p.path, c.sha256, f.first_scan
FROM fleet_contents f
JOIN paths p ON p.id = f.path_id
JOIN contents c ON c.id = f.content_id;

CREATE VIEW fleet_images AS
SELECT m.digest AS image_digest, f.first_scan
FROM fleet_manifests f
JOIN manifests m ON m.id = f.manifest_id;

CREATE VIEW rule_runs AS
SELECT scan_id, started, finished, rules, findings, new, resolved FROM rule_evals;

CREATE VIEW findings AS
SELECT f.fingerprint, f.rule_id, f.severity, f.title, f.image_digest,
       (SELECT string_agg(registry, ' ' ORDER BY registry COLLATE "C") FROM (SELECT DISTINCT r.registry FROM repo_manifests rm
            JOIN manifests m ON m.id = rm.manifest_id JOIN repositories r ON r.id = rm.repository_id
            WHERE m.digest = f.image_digest) x) AS registry,
       (SELECT string_agg(name, ' ' ORDER BY name COLLATE "C") FROM (SELECT DISTINCT r.name FROM repo_manifests rm
            JOIN manifests m ON m.id = rm.manifest_id JOIN repositories r ON r.id = rm.repository_id
            WHERE m.digest = f.image_digest) x) AS repository,
       (SELECT string_agg(tag, ' ' ORDER BY tag COLLATE "C") FROM (SELECT DISTINCT r.name || ':' || t.tag AS tag FROM (
                SELECT t.repository_id, t.tag, t.last_seen, t.gone FROM tag_history t WHERE t.digest = f.image_digest
                UNION ALL
                SELECT t.repository_id, t.tag, t.last_seen, t.gone FROM manifests m
                JOIN repo_manifests rm ON rm.manifest_id = m.id AND rm.index_digest IS NOT NULL
                JOIN tag_history t ON t.digest = rm.index_digest AND t.repository_id = rm.repository_id
                WHERE m.digest = f.image_digest) t
            JOIN repositories r ON r.id = t.repository_id
            WHERE t.gone IS NULL
              AND t.last_seen = (SELECT MAX(t2.last_seen) FROM tag_history t2 WHERE t2.repository_id = t.repository_id AND t2.tag = t.tag)) x) AS tags,
       f.layer_digest, f.path, f.detail, f.first_seen, f.last_seen,
       CASE WHEN f.resolved_in IS NOT NULL THEN 'resolved'
            WHEN f.new_in = (SELECT MAX(scan_id) FROM rule_evals) THEN 'new'
            ELSE 'open' END AS state,
       f.suppressed AS suppressed_reason, f.suppressed_until, f.resolved_in
FROM finding_rows f;

CREATE VIEW config_files AS
SELECT l.digest AS layer_digest, p.path, ce.seq, ce.kind, c.sha256, ce.error
FROM config_entries ce
JOIN layers l ON l.id = ce.layer_id
JOIN entries e ON e.layer_id = ce.layer_id AND e.seq = ce.seq
JOIN paths p ON p.id = e.path_id
LEFT JOIN contents c ON c.id = e.content_id;

CREATE VIEW config_visible AS
SELECT m.digest AS image_digest, ml.position AS layer_position, l.digest AS layer_digest,
       COALESCE(mp.path, p.path) AS path, CASE WHEN mp.path IS NOT NULL THEN p.path END AS written_via,
       ce.kind, e.content_id, c.sha256, ce.error
FROM config_entries ce
JOIN entries e ON e.layer_id = ce.layer_id AND e.seq = ce.seq
JOIN paths p ON p.id = e.path_id
JOIN manifest_layers ml ON ml.layer_id = ce.layer_id
JOIN manifests m ON m.id = ml.manifest_id
JOIN layers l ON l.id = ce.layer_id
LEFT JOIN contents c ON c.id = e.content_id
LEFT JOIN hidden h ON h.manifest_id = ml.manifest_id AND h.layer_position = ml.position AND h.seq = ce.seq
LEFT JOIN moved mv ON mv.manifest_id = ml.manifest_id AND mv.layer_position = ml.position AND mv.seq = ce.seq
LEFT JOIN paths mp ON mp.id = mv.path_id
WHERE m.indexed_at IS NOT NULL AND h.seq IS NULL;

CREATE VIEW image_config_files AS
SELECT image_digest, layer_position, layer_digest, path, written_via, kind, sha256, error FROM config_visible;

CREATE VIEW config_file_lines AS
SELECT f.layer_digest, f.path, f.kind, cl.line, cl.text
FROM config_files f
JOIN contents c ON c.sha256 = f.sha256
JOIN config_lines cl ON cl.content_id = c.id;

CREATE VIEW image_config_lines AS
SELECT f.image_digest, f.layer_position, f.layer_digest, f.path, f.kind, cl.line, cl.text
FROM config_visible f
JOIN config_lines cl ON cl.content_id = f.content_id;

CREATE VIEW image_config_rows AS
SELECT f.image_digest, f.layer_position, f.layer_digest, f.path, f.kind, r.type, r.line,
       r.a, r.b, r.c, r.d, r.e, r.f, r.n1, r.n2
FROM config_visible f
JOIN config_rows r ON r.content_id = f.content_id AND r.kind = f.kind;

CREATE VIEW accounts AS
SELECT a.image_digest, a.layer_position, a.layer_digest, a.path, a.line,
       a.a AS name, a.n1 AS uid, a.n2 AS gid, a.d AS home, a.e AS shell, a.f AS gecos,
       CASE WHEN a.b <> 'shadowed' THEN a.b
            WHEN s.b IS NOT NULL THEN s.b
            WHEN EXISTS (SELECT 1 FROM image_config_files sf WHERE sf.image_digest = a.image_digest AND sf.path = '/etc/shadow') THEN 'none'
            ELSE 'shadowed' END AS password,
       CASE WHEN a.b <> 'shadowed' THEN a.c ELSE s.c END AS scheme
FROM image_config_rows a
LEFT JOIN image_config_rows s ON s.image_digest = a.image_digest AND s.path = '/etc/shadow' AND s.type = 'shadow' AND s.a = a.a
    AND s.line = (SELECT min(s2.line) FROM image_config_rows s2 WHERE s2.image_digest = a.image_digest AND s2.path = '/etc/shadow' AND s2.type = 'shadow' AND s2.a = a.a)
WHERE a.type = 'account' AND a.path = '/etc/passwd';

CREATE VIEW groups AS
SELECT image_digest, layer_position, layer_digest, path, line, a AS name, n1 AS gid, b AS members
FROM image_config_rows WHERE type = 'group' AND path = '/etc/group';

CREATE VIEW sudo_grants AS
SELECT image_digest, layer_position, layer_digest, path, line, a AS who, b AS hosts, c AS runas,
       n1 AS nopasswd, d AS commands
FROM image_config_rows WHERE type = 'sudo';

CREATE VIEW ssh_options AS
SELECT image_digest, layer_position, layer_digest, path, kind, line, a AS keyword, b AS value, c AS match
FROM image_config_rows WHERE type = 'ssh';

CREATE VIEW sshd_effective AS
WITH o AS (
    SELECT s.*,
           CASE WHEN s.path = '/etc/ssh/sshd_config' THEN
                    CASE WHEN s.line < COALESCE((SELECT min(i.line) FROM ssh_options i
                                                 WHERE i.image_digest = s.image_digest AND i.path = s.path AND i.keyword = 'include'), 1e18)
                         THEN 0 ELSE 2 END
                ELSE 1 END AS part
    FROM ssh_options s
    WHERE s.kind = 'sshd_config' AND s.match = '' AND s.keyword <> 'include'
      AND (s.path = '/etc/ssh/sshd_config' OR EXISTS (SELECT 1 FROM ssh_options i
           WHERE i.image_digest = s.image_digest AND i.path = '/etc/ssh/sshd_config' AND i.keyword = 'include'))
), ranked AS (
    SELECT o.*, row_number() OVER (PARTITION BY image_digest, keyword ORDER BY part, path COLLATE "C", line) AS n FROM o
)
SELECT image_digest, layer_position, layer_digest, path, line, keyword, value FROM ranked WHERE n = 1;

CREATE VIEW pam_lines AS
SELECT image_digest, layer_position, layer_digest, path, line, a AS type, b AS control, c AS module, d AS args,
       n1 AS optional
FROM image_config_rows WHERE type = 'pam';

CREATE VIEW cron_jobs AS
SELECT image_digest, layer_position, layer_digest, path, line, a AS schedule, b AS "user", c AS command
FROM image_config_rows WHERE type = 'cron';

CREATE VIEW unit_directives AS
SELECT image_digest, layer_position, layer_digest, path, line, a AS section, b AS key, c AS value
FROM image_config_rows WHERE type = 'unit';

CREATE VIEW hosts_entries AS
SELECT image_digest, layer_position, layer_digest, path, line, a AS address, b AS name
FROM image_config_rows WHERE type = 'host' AND path = '/etc/hosts';

CREATE VIEW package_sources AS
SELECT image_digest, layer_position, layer_digest, path, line, a AS manager, b AS uri, c AS scheme,
       n1 AS trusted, n2 AS enabled, d AS detail
FROM image_config_rows WHERE type = 'source';

-- The exact bytes of a stored text value (postgres/text.go): each character
-- U+F700-U+F7FF is the byte of its low eight bits.
CREATE FUNCTION auditor_bytes(t text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT COALESCE(string_agg(CASE WHEN ascii(ch) BETWEEN 63232 AND 63487
                                    THEN set_byte('\x00'::bytea, 0, ascii(ch) - 63232)
                                    ELSE convert_to(ch, 'UTF8') END, ''::bytea ORDER BY i), ''::bytea)
    FROM unnest(string_to_array(t, NULL)) WITH ORDINALITY AS c(ch, i) $$;
