-- scan_before: the last scan that started at or before ?1 (0 if none).
SELECT COALESCE(max(id), 0) FROM scans WHERE started <= ?1;
