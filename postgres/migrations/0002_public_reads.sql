-- The same views as SQLite's 0021_public_reads.sql (same columns, same
-- meanings; sums cast to bigint, which SQLite's integers are).
--
-- Public views for what queries, rules and reports read (issue 18): they
-- read the public views only, so that the PostgreSQL back end, whose
-- private tables differ, answers them with the same views.
--
-- path_names: every path an indexed entry has or lands at (a tar path, or
-- where a write through a symlinked directory put it), each once. A GLOB
-- over it visits the distinct names, not every entry.
CREATE VIEW path_names AS
SELECT p.path FROM paths p
WHERE EXISTS (SELECT 1 FROM entries e WHERE e.path_id = p.id)
   OR EXISTS (SELECT 1 FROM moved m WHERE m.path_id = p.id);

-- image_sizes: per indexed image, its layers, their sizes and entries, and
-- how many of those entries its final filesystem shows (visible_entries:
-- the entries no later layer hides).
CREATE VIEW image_sizes AS
SELECT m.digest AS image_digest,
       (SELECT count(*) FROM manifest_layers ml JOIN layers l ON l.id = ml.layer_id
        WHERE ml.manifest_id = m.id) AS layers,
       (SELECT COALESCE(sum(l.size), 0)::bigint FROM manifest_layers ml JOIN layers l ON l.id = ml.layer_id
        WHERE ml.manifest_id = m.id) AS size,
       (SELECT COALESCE(sum(l.uncompressed_size), 0)::bigint FROM manifest_layers ml JOIN layers l ON l.id = ml.layer_id
        WHERE ml.manifest_id = m.id) AS uncompressed_size,
       (SELECT COALESCE(sum(l.entries), 0)::bigint FROM manifest_layers ml JOIN layers l ON l.id = ml.layer_id
        WHERE ml.manifest_id = m.id) AS entries,
       (SELECT COALESCE(sum(l.entries), 0)::bigint FROM manifest_layers ml JOIN layers l ON l.id = ml.layer_id
        WHERE ml.manifest_id = m.id)
         - (SELECT count(*) FROM hidden h WHERE h.manifest_id = m.id) AS visible_entries
FROM manifests m
WHERE m.indexed_at IS NOT NULL;

-- tag_changes: every change of what a tag points at, in time order: the
-- digest from then on, or NULL when the tag was found gone.
CREATE VIEW tag_changes AS
SELECT r.registry, r.name AS repository, e.tag, e.at, e.digest
FROM tag_events e
JOIN repositories r ON r.id = e.repository_id;

-- open_findings: the findings neither resolved nor suppressed, with the
-- scan whose rules run last found each new (new_in).
CREATE VIEW open_findings AS
SELECT fingerprint, rule_id, severity, image_digest, new_in
FROM finding_rows
WHERE resolved_in IS NULL AND suppressed IS NULL;

-- rule_scopes: the images each rule of scope "image" looks at in a rules
-- run (the images whose facts changed since it last looked).
CREATE VIEW rule_scopes AS
SELECT rule_id, image_digest FROM rule_scope;
