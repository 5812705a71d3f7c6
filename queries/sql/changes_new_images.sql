-- changes_new_images: manifest digests no repository held at or before ?1
-- (an RFC 3339 time).
SELECT digest FROM images GROUP BY digest HAVING min(first_seen) > ?1 ORDER BY digest;
