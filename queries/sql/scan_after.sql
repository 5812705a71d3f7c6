-- scan_after: when the first scan after scan ?1 started (NULL if none),
-- and whether scan ?1 exists.
SELECT (SELECT min(started) FROM scans WHERE id > ?1),
       (SELECT count(*) FROM scans WHERE id = ?1);
