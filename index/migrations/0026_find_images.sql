-- 0026_find_images: what find prints of each image, one row per image in
-- each repository holding it (issue 19).
--
-- auditor find of one exact path on SQLite (index/findpath.go) read each of
-- the path's images through repo_manifests, manifests, repositories,
-- tag_history and image_package_state: for a path in 4,000 images, 70% of
-- its 33-39 ms. find_images holds those columns packed in one value, keyed
-- in find's order (registry, repository, digest), so that one read of this
-- small table gets every image of the path, sorted.
--
-- packed: ten fields, each its length in bytes, ':' and its bytes: the
-- manifest id, registry, repository, digest, the index digest the
-- repository reached it through, os, architecture, variant, the image's
-- owners set (image_package_state.owners_set; '' for none), and its current
-- tags, themselves fields (unsorted, possibly repeated). Only indexed images
-- (manifests.indexed_at set) have a row. index/findimages.go builds them.
--
-- The triggers below mark what a change of those tables makes stale,
-- whatever SQL makes it: the (repository, manifest) pairs in
-- find_images_stale, the tag mappings (repository, tag, digest) changed in
-- find_images_stale_tags. The index writer rebuilds what is marked before
-- each of its transactions commits (for a changed mapping, the images of
-- its digest and of the tag's unchanged mappings with the latest
-- last_seen: tags.current is a mapping not gone with no later one of its
-- tag); find reads find_images only when nothing is marked (else the views
-- answer), so a write by other SQL is never answered stale. The triggers
-- only mark, so that the statements firing them stay cheap to prepare
-- (SQLite compiles a statement's triggers into it).
CREATE TABLE find_images (
    registry      TEXT NOT NULL,
    repository    TEXT NOT NULL,
    digest        TEXT NOT NULL,
    repository_id INTEGER NOT NULL,
    manifest_id   INTEGER NOT NULL,
    packed        TEXT NOT NULL,
    PRIMARY KEY (registry, repository, digest)
) WITHOUT ROWID;
CREATE INDEX find_images_manifest ON find_images (manifest_id, repository_id);

-- The images a repository reached through an index, by that index.
CREATE INDEX repo_manifests_index ON repo_manifests (index_digest, repository_id) WHERE index_digest IS NOT NULL;

-- (Without keys: the conflict clause of a statement firing a trigger
-- overrides those of the trigger's statements, so OR IGNORE could not keep
-- them unique; a mark is there once or more.)
CREATE TABLE find_images_stale (repository_id INTEGER NOT NULL, manifest_id INTEGER NOT NULL);
CREATE TABLE find_images_stale_tags (repository_id INTEGER NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL);

CREATE TRIGGER find_images_tag_insert AFTER INSERT ON tag_history BEGIN
    INSERT INTO find_images_stale_tags VALUES (NEW.repository_id, NEW.tag, NEW.digest);
END;
-- A scan seeing a tag where it was refreshes its last_seen: nothing changes
-- when the mapping was the tag's only current one and stays so.
CREATE TRIGGER find_images_tag_update AFTER UPDATE OF repository_id, tag, digest, last_seen, gone ON tag_history
WHEN NOT (OLD.repository_id = NEW.repository_id AND OLD.tag = NEW.tag AND OLD.digest = NEW.digest
          AND OLD.gone IS NULL AND NEW.gone IS NULL AND NEW.last_seen >= OLD.last_seen
          AND NOT EXISTS (SELECT 1 FROM tag_history n WHERE n.repository_id = NEW.repository_id AND n.tag = NEW.tag
                          AND n.digest != NEW.digest AND n.last_seen >= OLD.last_seen))
BEGIN
    INSERT INTO find_images_stale_tags VALUES (OLD.repository_id, OLD.tag, OLD.digest), (NEW.repository_id, NEW.tag, NEW.digest);
END;
CREATE TRIGGER find_images_tag_delete AFTER DELETE ON tag_history BEGIN
    INSERT INTO find_images_stale_tags VALUES (OLD.repository_id, OLD.tag, OLD.digest);
END;

CREATE TRIGGER find_images_link AFTER INSERT ON repo_manifests BEGIN
    INSERT INTO find_images_stale VALUES (NEW.repository_id, NEW.manifest_id);
END;
CREATE TRIGGER find_images_relink AFTER UPDATE OF repository_id, manifest_id, index_digest ON repo_manifests
WHEN OLD.index_digest IS NOT NEW.index_digest OR OLD.repository_id != NEW.repository_id OR OLD.manifest_id != NEW.manifest_id
BEGIN
    INSERT INTO find_images_stale VALUES (OLD.repository_id, OLD.manifest_id), (NEW.repository_id, NEW.manifest_id);
END;
CREATE TRIGGER find_images_unlink AFTER DELETE ON repo_manifests BEGIN
    INSERT INTO find_images_stale VALUES (OLD.repository_id, OLD.manifest_id);
END;

CREATE TRIGGER find_images_manifest_update AFTER UPDATE OF id, digest, os, architecture, variant, indexed_at ON manifests
WHEN (OLD.indexed_at IS NULL) != (NEW.indexed_at IS NULL) OR OLD.id != NEW.id OR OLD.digest != NEW.digest
  OR OLD.os IS NOT NEW.os OR OLD.architecture IS NOT NEW.architecture OR OLD.variant IS NOT NEW.variant
BEGIN
    INSERT INTO find_images_stale SELECT repository_id, manifest_id FROM find_images WHERE manifest_id = OLD.id;
    INSERT INTO find_images_stale SELECT repository_id, manifest_id FROM repo_manifests WHERE manifest_id = NEW.id;
END;
CREATE TRIGGER find_images_manifest_delete AFTER DELETE ON manifests BEGIN
    INSERT INTO find_images_stale SELECT repository_id, manifest_id FROM find_images WHERE manifest_id = OLD.id;
END;

CREATE TRIGGER find_images_repository_update AFTER UPDATE OF id, registry, name ON repositories
WHEN OLD.id != NEW.id OR OLD.registry != NEW.registry OR OLD.name != NEW.name
BEGIN
    INSERT INTO find_images_stale SELECT repository_id, manifest_id FROM find_images WHERE repository_id = OLD.id;
    INSERT INTO find_images_stale SELECT repository_id, manifest_id FROM repo_manifests WHERE repository_id = NEW.id;
END;
CREATE TRIGGER find_images_repository_delete AFTER DELETE ON repositories BEGIN
    INSERT INTO find_images_stale SELECT repository_id, manifest_id FROM find_images WHERE repository_id = OLD.id;
END;

CREATE TRIGGER find_images_packages_insert AFTER INSERT ON image_package_state BEGIN
    INSERT INTO find_images_stale SELECT repository_id, manifest_id FROM repo_manifests WHERE manifest_id = NEW.manifest_id;
END;
CREATE TRIGGER find_images_packages_update AFTER UPDATE OF manifest_id, owners_set ON image_package_state
WHEN OLD.owners_set IS NOT NEW.owners_set OR OLD.manifest_id != NEW.manifest_id
BEGIN
    INSERT INTO find_images_stale SELECT repository_id, manifest_id FROM repo_manifests WHERE manifest_id IN (OLD.manifest_id, NEW.manifest_id);
END;
CREATE TRIGGER find_images_packages_delete AFTER DELETE ON image_package_state BEGIN
    INSERT INTO find_images_stale SELECT repository_id, manifest_id FROM repo_manifests WHERE manifest_id = OLD.manifest_id;
END;

-- Every image, built when this migration's transaction ends.
INSERT INTO find_images_stale SELECT repository_id, manifest_id FROM repo_manifests;
