-- 0007_config_names: as SQLite's 0024_config_names: the files a system
-- reads by a documented name are found by that name when a symlinked parent
-- moved them (image_config_rows.name and ssh_options.name: written_via, or
-- the path). CREATE OR REPLACE keeps the grants to auditor_reader; the new
-- columns come last, as PostgreSQL requires.
CREATE OR REPLACE VIEW image_config_rows AS
SELECT f.image_digest, f.layer_position, f.layer_digest, f.path, f.kind, r.type, r.line,
       r.a, r.b, r.c, r.d, r.e, r.f, r.n1, r.n2, COALESCE(f.written_via, f.path) AS name
FROM config_visible f
JOIN config_rows r ON r.content_id = f.content_id AND r.kind = f.kind;

CREATE OR REPLACE VIEW ssh_options AS
SELECT image_digest, layer_position, layer_digest, path, kind, line, a AS keyword, b AS value, c AS match, name
FROM image_config_rows WHERE type = 'ssh';

CREATE OR REPLACE VIEW accounts AS
SELECT a.image_digest, a.layer_position, a.layer_digest, a.path, a.line,
       a.a AS name, a.n1 AS uid, a.n2 AS gid, a.d AS home, a.e AS shell, a.f AS gecos,
       CASE WHEN a.b <> 'shadowed' THEN a.b
            WHEN s.b IS NOT NULL THEN s.b
            WHEN EXISTS (SELECT 1 FROM image_config_files sf WHERE sf.image_digest = a.image_digest AND COALESCE(sf.written_via, sf.path) = '/etc/shadow') THEN 'none'
            ELSE 'shadowed' END AS password,
       CASE WHEN a.b <> 'shadowed' THEN a.c ELSE s.c END AS scheme
FROM image_config_rows a
LEFT JOIN image_config_rows s ON s.image_digest = a.image_digest AND s.name = '/etc/shadow' AND s.type = 'shadow' AND s.a = a.a
    AND s.line = (SELECT min(s2.line) FROM image_config_rows s2 WHERE s2.image_digest = a.image_digest AND s2.name = '/etc/shadow' AND s2.type = 'shadow' AND s2.a = a.a)
WHERE a.type = 'account' AND a.name = '/etc/passwd';

CREATE OR REPLACE VIEW groups AS
SELECT r.image_digest, r.layer_position, r.layer_digest, r.path, r.line, r.a AS name, r.n1 AS gid, r.b AS members
FROM image_config_rows r WHERE r.type = 'group' AND r.name = '/etc/group';

CREATE OR REPLACE VIEW sshd_effective AS
WITH o AS (
    SELECT s.*,
           CASE WHEN s.name = '/etc/ssh/sshd_config' THEN
                    CASE WHEN s.line < COALESCE((SELECT min(i.line) FROM ssh_options i
                                                 WHERE i.image_digest = s.image_digest AND i.path = s.path AND i.keyword = 'include'), 1e18)
                         THEN 0 ELSE 2 END
                ELSE 1 END AS part
    FROM ssh_options s
    WHERE s.kind = 'sshd_config' AND s.match = '' AND s.keyword <> 'include'
      AND (s.name = '/etc/ssh/sshd_config' OR EXISTS (SELECT 1 FROM ssh_options i
           WHERE i.image_digest = s.image_digest AND i.name = '/etc/ssh/sshd_config' AND i.keyword = 'include'))
), ranked AS (
    SELECT o.*, row_number() OVER (PARTITION BY image_digest, keyword ORDER BY part, name COLLATE "C", line) AS n FROM o
)
SELECT image_digest, layer_position, layer_digest, path, line, keyword, value FROM ranked WHERE n = 1;

CREATE OR REPLACE VIEW hosts_entries AS
SELECT r.image_digest, r.layer_position, r.layer_digest, r.path, r.line, r.a AS address, r.b AS name
FROM image_config_rows r WHERE r.type = 'host' AND r.name = '/etc/hosts';
