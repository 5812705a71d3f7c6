-- dir_implied: whether one image (as held by one repository) shows
-- anything beneath a path, which is then a directory even if no layer has
-- an entry for it. ?1 image digest, ?2 registry, ?3 repository, ?4 path
-- (not '/'). '0' is the character after '/'.
SELECT EXISTS (SELECT 1 FROM image_files f
               WHERE f.path > ?4 || '/' AND f.path < ?4 || '0'
                 AND f.image_digest = ?1 AND f.registry = ?2 AND f.repository = ?3 AND f.visible);
