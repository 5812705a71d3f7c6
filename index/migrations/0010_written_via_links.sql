-- 0010: entries land where extraction writes them.
--
-- A parent directory that is a symlink when a layer is laid sends the
-- layer's entries beneath it to the link's target: with bin -> usr/bin, a
-- later bin/ls is /usr/bin/ls, and it replaces the original; link/.wh.x
-- deletes target/x. moved holds, per image and layer position, the rare
-- entries that land elsewhere than their tar path; image_files shows them
-- at the path they land at, with the tar's path in written_via. Every
-- indexed image has its visibility computed again when the index is next
-- opened for writing (visibility_stale).

CREATE TABLE moved (
    manifest_id    INTEGER NOT NULL,
    layer_position INTEGER NOT NULL,
    entry_id       INTEGER NOT NULL,
    path_id        INTEGER NOT NULL, -- where it lands
    PRIMARY KEY (manifest_id, layer_position, entry_id)
) WITHOUT ROWID;
CREATE INDEX moved_path ON moved (path_id);

INSERT OR IGNORE INTO visibility_stale (manifest_id)
SELECT id FROM manifests WHERE is_index = 0 AND indexed_at IS NOT NULL;

-- Two arms, so that a lookup by path uses the index on paths (entries not
-- moved) or on moved.path_id (entries moved).
DROP VIEW image_files;
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
       e.uname, e.gname, e.mtime, e.raw_name, e.capabilities, e.id - l.first_entry AS seq,
       NULL AS written_via
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
WHERE m.indexed_at IS NOT NULL AND mv.entry_id IS NULL
UNION ALL
SELECT m.digest AS image_digest, r.registry, r.name AS repository,
       ml.position AS layer_position, l.digest AS layer_digest, mp.path,
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
       e.uname, e.gname, e.mtime, e.raw_name, e.capabilities, e.id - l.first_entry AS seq,
       p.path AS written_via
FROM moved mv
JOIN manifest_layers ml ON ml.manifest_id = mv.manifest_id AND ml.position = mv.layer_position
JOIN manifests m ON m.id = ml.manifest_id
JOIN repo_manifests rm ON rm.manifest_id = ml.manifest_id
JOIN repositories r ON r.id = rm.repository_id
JOIN layers l ON l.id = ml.layer_id
JOIN entries e ON e.id = mv.entry_id
JOIN paths p ON p.id = e.path_id
JOIN paths mp ON mp.id = mv.path_id
LEFT JOIN contents c ON c.id = e.content_id
LEFT JOIN hidden h ON h.manifest_id = ml.manifest_id AND h.layer_position = ml.position AND h.entry_id = e.id
WHERE m.indexed_at IS NOT NULL;
