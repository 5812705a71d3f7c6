-- changes_files: paths that images first seen after ?1 show and that no
-- image seen before did: the fleet's new files, one row per path, with how
-- many new images have it and the first of them.
WITH firsts AS (SELECT digest, min(first_seen) AS first_seen FROM images GROUP BY digest),
     new_images AS (SELECT digest FROM firsts WHERE first_seen > ?1),
     old_images AS (SELECT digest FROM firsts WHERE first_seen <= ?1)
SELECT f.path, min(f.registry || '/' || f.repository || '@' || f.image_digest) AS first_image,
       count(DISTINCT f.image_digest) AS images,
       min(f.type), min(f.sha256), count(DISTINCT f.sha256) AS hashes
FROM image_files f
WHERE f.image_digest IN (SELECT digest FROM new_images)
  AND f.visible AND f.type != 'dir'
  AND NOT EXISTS (SELECT 1 FROM image_files o
                  WHERE o.path = f.path AND o.visible
                    AND o.image_digest IN (SELECT digest FROM old_images))
GROUP BY f.path
ORDER BY f.path;
