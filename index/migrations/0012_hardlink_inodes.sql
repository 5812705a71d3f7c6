-- 0012: a hardlink is the file it links.
--
-- Extraction makes a hardlink another name of its target's inode: it has
-- the target's content, mode, owner and type, whatever its own tar header
-- says (a 0755 header linked to a 04755 file is setuid; a hardlink to a
-- lower layer's file has that file's content; a hardlink to a symlink is a
-- symlink). moved.inode_entry_id names the entry a hardlink links, for the
-- hardlinks whose own row says otherwise (a row at the entry's own path
-- when it is not moved); image_files shows that entry's type (but
-- 'hardlink' for a regular file), content, mode, owner, kind, linkname and
-- capabilities; a hardlink's size and kind are its content's. Every indexed image
-- has its visibility computed again when the index is next opened for
-- writing.

ALTER TABLE moved ADD COLUMN inode_entry_id INTEGER;

INSERT OR IGNORE INTO visibility_stale (manifest_id)
SELECT id FROM manifests WHERE is_index = 0 AND indexed_at IS NOT NULL;

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
       CASE WHEN mv.path_id != e.path_id THEN p.path END AS written_via
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
WHERE m.indexed_at IS NOT NULL;
