-- 0002_findings: content matches, rule findings and their bookkeeping.
--
-- Tables are private; the views at the end (content_matches, findings,
-- file_history, rule_runs) are public, like those of 0001_init.

-- content_checks: the content pattern version each layer's regular files
-- were matched with. A layer without a row, or with another version, is read
-- again for its content when a scan runs with content checks (its entries
-- are not written twice).
CREATE TABLE content_checks (
    layer_id   INTEGER PRIMARY KEY REFERENCES layers (id),
    version    TEXT NOT NULL,
    checked_at TEXT NOT NULL
);

-- content_hits: what the patterns found, per file entry. excerpt is redacted
-- (a secret is never stored whole).
CREATE TABLE content_hits (
    layer_id   INTEGER NOT NULL REFERENCES layers (id),
    entry_id   INTEGER NOT NULL REFERENCES entries (id),
    pattern_id TEXT NOT NULL,
    offset     INTEGER NOT NULL, -- byte offset of the match in the file
    excerpt    TEXT NOT NULL,
    PRIMARY KEY (layer_id, entry_id, pattern_id, offset)
) WITHOUT ROWID;
CREATE INDEX content_hits_entry ON content_hits (entry_id);

-- rule_evals: one row per rules run, keyed by the scan whose index it
-- evaluated (running the rules again for the same scan replaces the row).
CREATE TABLE rule_evals (
    scan_id  INTEGER PRIMARY KEY,
    started  TEXT NOT NULL,
    finished TEXT,
    rules    INTEGER NOT NULL DEFAULT 0,
    findings INTEGER NOT NULL DEFAULT 0,
    new      INTEGER NOT NULL DEFAULT 0,
    resolved INTEGER NOT NULL DEFAULT 0
);

-- finding_rows: every finding ever made, by fingerprint (sha256 of rule id,
-- image digest, layer digest, path and detail).
-- first_seen, last_seen: scan ids. new_in: the scan where it was last new
-- (first seen, or seen again after it was resolved). resolved_in: the scan
-- whose rules run did not return it any more (NULL while it is returned).
CREATE TABLE finding_rows (
    fingerprint      TEXT PRIMARY KEY,
    rule_id          TEXT NOT NULL,
    severity         TEXT NOT NULL,
    title            TEXT NOT NULL,
    image_digest     TEXT NOT NULL,
    layer_digest     TEXT,
    path             TEXT,
    detail           TEXT NOT NULL,
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    new_in           INTEGER NOT NULL,
    resolved_in      INTEGER,
    suppressed       TEXT, -- the suppression's reason, when one applies
    suppressed_until TEXT  -- its expiry date (YYYY-MM-DD), if any
);
CREATE INDEX finding_rows_rule ON finding_rows (rule_id, resolved_in);
CREATE INDEX finding_rows_image ON finding_rows (image_digest);

-- fleet_layers and fleet_contents remember, for the "new to the fleet"
-- signal, which (path, content) pairs of system directories each rules run
-- first saw. Only layers not yet recorded are read, so the cost of a run
-- grows with what changed. first_scan 0 is the baseline of the first run.
CREATE TABLE fleet_layers (
    layer_id   INTEGER PRIMARY KEY REFERENCES layers (id),
    first_scan INTEGER NOT NULL
);
CREATE TABLE fleet_contents (
    path_id    INTEGER NOT NULL REFERENCES paths (id),
    content_id INTEGER NOT NULL REFERENCES contents (id),
    first_scan INTEGER NOT NULL,
    PRIMARY KEY (path_id, content_id)
) WITHOUT ROWID;
CREATE INDEX fleet_contents_scan ON fleet_contents (first_scan);

-- A layer dropped (re-read by a newer reader) takes its content rows with
-- it; layer ids may be reused.
CREATE TRIGGER layers_drop_content AFTER DELETE ON layers BEGIN
    DELETE FROM content_hits WHERE layer_id = old.id;
    DELETE FROM content_checks WHERE layer_id = old.id;
    DELETE FROM fleet_layers WHERE layer_id = old.id;
END;

-- ---------------------------------------------------------------- public views

-- content_matches: one row per pattern match in a regular file of a layer.
CREATE VIEW content_matches AS
SELECT l.digest AS layer_digest, p.path, h.pattern_id, h.excerpt, h."offset",
       h.entry_id - l.first_entry AS seq, c.version AS patterns_version
FROM content_hits h
JOIN layers l ON l.id = h.layer_id
JOIN entries e ON e.id = h.entry_id
JOIN paths p ON p.id = e.path_id
JOIN content_checks c ON c.layer_id = h.layer_id;

-- file_history: when each (path, sha256) of a system directory was first
-- seen by a rules run (scan id; 0 = already there at the first run).
CREATE VIEW file_history AS
SELECT p.path, c.sha256, f.first_scan
FROM fleet_contents f
JOIN paths p ON p.id = f.path_id
JOIN contents c ON c.id = f.content_id;

-- findings: state is new (first seen, or seen again, in the latest rules
-- run), open (seen before and still returned) or resolved (no longer
-- returned). registry and repository list every repository holding the
-- image; tags lists its current repository:tag names.
CREATE VIEW findings AS
SELECT f.fingerprint, f.rule_id, f.severity, f.title, f.image_digest,
       (SELECT group_concat(registry, ' ') FROM (SELECT DISTINCT r.registry FROM repo_manifests rm
            JOIN manifests m ON m.id = rm.manifest_id JOIN repositories r ON r.id = rm.repository_id
            WHERE m.digest = f.image_digest ORDER BY 1)) AS registry,
       (SELECT group_concat(name, ' ') FROM (SELECT DISTINCT r.name FROM repo_manifests rm
            JOIN manifests m ON m.id = rm.manifest_id JOIN repositories r ON r.id = rm.repository_id
            WHERE m.digest = f.image_digest ORDER BY 1)) AS repository,
       (SELECT group_concat(tag, ' ') FROM (SELECT DISTINCT r.name || ':' || t.tag AS tag FROM tag_history t
            JOIN repositories r ON r.id = t.repository_id
            WHERE (t.digest = f.image_digest OR t.digest IN (SELECT rm.index_digest FROM repo_manifests rm
                     JOIN manifests m ON m.id = rm.manifest_id WHERE m.digest = f.image_digest AND rm.repository_id = t.repository_id))
              AND t.last_seen = (SELECT MAX(t2.last_seen) FROM tag_history t2 WHERE t2.repository_id = t.repository_id AND t2.tag = t.tag)
            ORDER BY 1)) AS tags,
       f.layer_digest, f.path, f.detail, f.first_seen, f.last_seen,
       CASE WHEN f.resolved_in IS NOT NULL THEN 'resolved'
            WHEN f.new_in = (SELECT MAX(scan_id) FROM rule_evals) THEN 'new'
            ELSE 'open' END AS state,
       f.suppressed AS suppressed_reason, f.suppressed_until, f.resolved_in
FROM finding_rows f;

-- rule_runs: the rules runs, newest last.
CREATE VIEW rule_runs AS
SELECT scan_id, started, finished, rules, findings, new, resolved FROM rule_evals;

-- ------------------------------------------------- incremental rule runs
-- Rules with scope "image" judge each image on its own rows only; a run
-- evaluates them only on images not yet evaluated with this rule version, or
-- whose data changed since (stamp: when the image was indexed and its layers
-- content-checked). rule_scope holds a run's images per rule; findings of
-- the other images are carried over.
CREATE TABLE rule_image_evals (
    rule_id      TEXT NOT NULL,
    image_digest TEXT NOT NULL,
    version      TEXT NOT NULL,
    stamp        TEXT NOT NULL,
    PRIMARY KEY (rule_id, image_digest)
) WITHOUT ROWID;
CREATE TABLE rule_scope (
    rule_id      TEXT NOT NULL,
    image_digest TEXT NOT NULL,
    PRIMARY KEY (rule_id, image_digest)
) WITHOUT ROWID;
