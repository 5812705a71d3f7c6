-- 0025_hidden_entries: the hidden and moved rows of an entry, by entry.
-- auditor find of one path reads, on SQLite, the hidden rows of that path's
-- few layer entries instead of one hidden lookup per image holding them
-- (queries/findpath.go), and whether any entry of it is moved.
CREATE INDEX hidden_entry ON hidden (entry_id);
CREATE INDEX moved_entry ON moved (entry_id);
