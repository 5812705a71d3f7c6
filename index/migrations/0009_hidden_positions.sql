-- 0009: hidden rows are per layer position, not per entry.
--
-- A manifest may list one layer twice ([A, A]: Distribution accepts it).
-- Keyed by entry alone, the row saying the lower copy of A is overwritten by
-- the upper one applied to both copies, so the image showed nothing of A.
-- Each position now has its own rows. Images without a repeated layer keep
-- theirs (the position is the one their layer has); those with one have
-- their visibility computed again when the index is next opened for
-- writing (visibility_stale, see DB.recomputeStale).

CREATE TABLE hidden_by_position (
    manifest_id        INTEGER NOT NULL,
    layer_position     INTEGER NOT NULL, -- of the entry's layer in the image
    entry_id           INTEGER NOT NULL,
    hidden_by_position INTEGER NOT NULL,
    how                INTEGER NOT NULL,
    PRIMARY KEY (manifest_id, layer_position, entry_id)
) WITHOUT ROWID;

CREATE TABLE visibility_stale (manifest_id INTEGER PRIMARY KEY);

INSERT INTO visibility_stale (manifest_id)
SELECT manifest_id FROM manifest_layers GROUP BY manifest_id HAVING count(*) > count(DISTINCT layer_id);

INSERT INTO hidden_by_position (manifest_id, layer_position, entry_id, hidden_by_position, how)
SELECT h.manifest_id, ml.position, h.entry_id, h.hidden_by_position, h.how
FROM hidden h
JOIN entries e ON e.id = h.entry_id
JOIN manifest_layers ml ON ml.manifest_id = h.manifest_id AND ml.layer_id = e.layer_id
WHERE h.manifest_id NOT IN (SELECT manifest_id FROM visibility_stale);

DROP VIEW image_files;
DROP TABLE hidden;
ALTER TABLE hidden_by_position RENAME TO hidden;

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
LEFT JOIN hidden h ON h.manifest_id = ml.manifest_id AND h.layer_position = ml.position AND h.entry_id = e.id
WHERE m.indexed_at IS NOT NULL;
