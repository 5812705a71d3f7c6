-- 0016_config_files: what security-relevant configuration files say (the
-- config scanner, package secconf). config_entries lists the captured
-- files of each layer with their kind; their lines and structured rows are
-- stored once per content and kind (config_lines, config_rows); the views
-- below show them per layer and, for what an image really shows (visible,
-- at the path extraction writes it to), per image.
CREATE TABLE config_entries (
    entry_id INTEGER PRIMARY KEY REFERENCES entries (id),
    layer_id INTEGER NOT NULL REFERENCES layers (id),
    kind     TEXT NOT NULL,
    error    TEXT -- why the file was not read (over the bounds); NULL when it was
);
CREATE INDEX config_entries_layer ON config_entries (layer_id);

CREATE TABLE config_parsed (
    content_id INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    version    TEXT NOT NULL,
    PRIMARY KEY (content_id, kind)
) WITHOUT ROWID;

CREATE TABLE config_lines (
    content_id INTEGER NOT NULL,
    line       INTEGER NOT NULL,
    text       TEXT NOT NULL,
    PRIMARY KEY (content_id, line)
) WITHOUT ROWID;

CREATE TABLE config_rows (
    content_id INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    type       TEXT NOT NULL,
    line       INTEGER NOT NULL,
    a TEXT, b TEXT, c TEXT, d TEXT, e TEXT, f TEXT,
    n1 INTEGER, n2 INTEGER
);
CREATE INDEX config_rows_content ON config_rows (content_id, kind, type);

CREATE TRIGGER layers_drop_configs AFTER DELETE ON layers BEGIN
    DELETE FROM config_entries WHERE layer_id = old.id;
END;

-- config_files: the captured configuration files of each layer.
CREATE VIEW config_files AS
SELECT l.digest AS layer_digest, p.path, ce.entry_id - l.first_entry AS seq, ce.kind, c.sha256, ce.error
FROM config_entries ce
JOIN layers l ON l.id = ce.layer_id
JOIN entries e ON e.id = ce.entry_id
JOIN paths p ON p.id = e.path_id
LEFT JOIN contents c ON c.id = e.content_id;

-- config_visible (internal: the public views below are built on it): the
-- configuration files an image shows, with their content ids.
CREATE VIEW config_visible AS
SELECT m.digest AS image_digest, ml.position AS layer_position, l.digest AS layer_digest,
       COALESCE(mp.path, p.path) AS path, CASE WHEN mp.path IS NOT NULL THEN p.path END AS written_via,
       ce.kind, e.content_id, c.sha256, ce.error
FROM config_entries ce
JOIN entries e ON e.id = ce.entry_id
JOIN paths p ON p.id = e.path_id
JOIN manifest_layers ml ON ml.layer_id = ce.layer_id
JOIN manifests m ON m.id = ml.manifest_id
JOIN layers l ON l.id = ce.layer_id
LEFT JOIN contents c ON c.id = e.content_id
LEFT JOIN hidden h ON h.manifest_id = ml.manifest_id AND h.layer_position = ml.position AND h.entry_id = ce.entry_id
LEFT JOIN moved mv ON mv.manifest_id = ml.manifest_id AND mv.layer_position = ml.position AND mv.entry_id = ce.entry_id
LEFT JOIN paths mp ON mp.id = mv.path_id
WHERE m.indexed_at IS NOT NULL AND h.entry_id IS NULL;

-- image_config_files: the configuration files an image shows, at the path
-- extraction writes them to (written_via: the tar path, when a symlinked
-- parent moved it).
CREATE VIEW image_config_files AS
SELECT image_digest, layer_position, layer_digest, path, written_via, kind, sha256, error FROM config_visible;

-- config_file_lines: every line of every captured file, per layer.
CREATE VIEW config_file_lines AS
SELECT f.layer_digest, f.path, f.kind, cl.line, cl.text
FROM config_files f
JOIN contents c ON c.sha256 = f.sha256
JOIN config_lines cl ON cl.content_id = c.id;

-- image_config_lines: every line of the configuration files an image shows.
CREATE VIEW image_config_lines AS
SELECT f.image_digest, f.layer_position, f.layer_digest, f.path, f.kind, cl.line, cl.text
FROM config_visible f
JOIN config_lines cl ON cl.content_id = f.content_id;

-- The structured rows of the files an image shows, one view per format.
CREATE VIEW image_config_rows AS
SELECT f.image_digest, f.layer_position, f.layer_digest, f.path, f.kind, r.type, r.line,
       r.a, r.b, r.c, r.d, r.e, r.f, r.n1, r.n2
FROM config_visible f
JOIN config_rows r ON r.content_id = f.content_id AND r.kind = f.kind;

-- accounts: the image's /etc/passwd accounts with what its /etc/shadow
-- says of their passwords: empty (no password needed), locked, set, or
-- none (an x in passwd and no shadow entry), and the hash scheme; never
-- the hash.
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

-- ssh_options: sshd and ssh options in file order; match is the Match
-- (Host) block the line is under, '' at the top level. sshd_effective: the
-- top-level sshd options sshd applies, the first value read winning, files
-- read as sshd reads them: the main file up to its Include, the drop-ins
-- of /etc/ssh/sshd_config.d in name order, then the rest of the main file.
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
    SELECT o.*, row_number() OVER (PARTITION BY image_digest, keyword ORDER BY part, path, line) AS n FROM o
)
SELECT image_digest, layer_position, layer_digest, path, line, keyword, value FROM ranked WHERE n = 1;

CREATE VIEW pam_lines AS
SELECT image_digest, layer_position, layer_digest, path, line, a AS type, b AS control, c AS module, d AS args,
       n1 AS optional
FROM image_config_rows WHERE type = 'pam';

CREATE VIEW cron_jobs AS
SELECT image_digest, layer_position, layer_digest, path, line, a AS schedule, b AS user, c AS command
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
