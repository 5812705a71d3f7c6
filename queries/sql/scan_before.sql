-- scan_before: the last scan that started at or before ?1 (0 if none), and
-- how many started after it.
SELECT COALESCE(max(id), 0), (SELECT count(*) FROM scans WHERE started > ?1) FROM scans WHERE started <= ?1;
