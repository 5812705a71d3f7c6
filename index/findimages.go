package index

import (
	"context"
	"database/sql"
	"fmt"
)

// find_images (migration 0026) holds, for find, each image's columns and
// current tags in one value; its triggers mark what a write makes stale,
// and refreshFindImages rebuilds it before the writer commits. Triggers
// that rebuilt the rows themselves made every statement firing them slow
// to prepare (the tag_history upsert of PutTag: 6 us before, 222 us with
// them, +4.5x the CPU of a PutTag), since SQLite compiles a statement's
// triggers with it; these statements are prepared once.

const findImagesMigration = "0026_find_images.sql"

// The statements of refreshFindImages, in order; the first says whether
// anything is marked. (CROSS JOIN: from the few marks, whatever the
// planner guesses of the tables' sizes.)
var findImagesRefresh = []string{
	`SELECT EXISTS (SELECT 1 FROM find_images_stale) OR EXISTS (SELECT 1 FROM find_images_stale_tags)`,
	// The images whose tags a changed mapping can change: those of its
	// digest, and of the digests of its tag's unchanged mappings with the
	// latest last_seen (current before or after, if any was). An image is
	// the image of a digest, or one its repository reached through the
	// index of that digest.
	`INSERT INTO find_images_stale (repository_id, manifest_id)
	WITH c AS (SELECT DISTINCT repository_id, tag FROM find_images_stale_tags),
	d (repository_id, digest) AS (
	    SELECT repository_id, digest FROM find_images_stale_tags
	    UNION
	    SELECT t.repository_id, t.digest FROM c
	    CROSS JOIN tag_history t ON t.repository_id = c.repository_id AND t.tag = c.tag
	    WHERE NOT EXISTS (SELECT 1 FROM find_images_stale_tags x WHERE x.repository_id = t.repository_id AND x.tag = t.tag AND x.digest = t.digest)
	      AND t.last_seen = (SELECT max(u.last_seen) FROM tag_history u WHERE u.repository_id = c.repository_id AND u.tag = c.tag
	          AND NOT EXISTS (SELECT 1 FROM find_images_stale_tags x WHERE x.repository_id = u.repository_id AND x.tag = u.tag AND x.digest = u.digest)))
	SELECT rm.repository_id, rm.manifest_id FROM d
	CROSS JOIN manifests m ON m.digest = d.digest
	CROSS JOIN repo_manifests rm ON rm.repository_id = d.repository_id AND rm.manifest_id = m.id
	UNION
	SELECT rm.repository_id, rm.manifest_id FROM d
	CROSS JOIN repo_manifests rm ON rm.index_digest = d.digest AND rm.repository_id = d.repository_id`,
	`DELETE FROM find_images_stale_tags`,
	`DELETE FROM find_images WHERE (manifest_id, repository_id) IN (SELECT manifest_id, repository_id FROM find_images_stale)`,
	`INSERT INTO find_images (registry, repository, digest, repository_id, manifest_id, packed)
	SELECT registry, name, digest, repository_id, id,
	       length(CAST(id AS BLOB)) || ':' || id ||
	       length(CAST(registry AS BLOB)) || ':' || registry ||
	       length(CAST(name AS BLOB)) || ':' || name ||
	       length(CAST(digest AS BLOB)) || ':' || digest ||
	       length(CAST(index_digest AS BLOB)) || ':' || index_digest ||
	       length(CAST(os AS BLOB)) || ':' || os ||
	       length(CAST(architecture AS BLOB)) || ':' || architecture ||
	       length(CAST(variant AS BLOB)) || ':' || variant ||
	       length(CAST(owners_set AS BLOB)) || ':' || owners_set ||
	       length(CAST(tags AS BLOB)) || ':' || tags
	FROM (SELECT r.registry, r.name, m.digest, rm.repository_id, m.id, COALESCE(rm.index_digest, '') AS index_digest,
	             COALESCE(m.os, '') AS os, COALESCE(m.architecture, '') AS architecture, COALESCE(m.variant, '') AS variant,
	             COALESCE(ps.owners_set, '') AS owners_set,
	             COALESCE(group_concat(length(CAST(th.tag AS BLOB)) || ':' || th.tag, ''), '') AS tags
	      FROM (SELECT DISTINCT repository_id, manifest_id FROM find_images_stale) s
	      CROSS JOIN repo_manifests rm ON rm.repository_id = s.repository_id AND rm.manifest_id = s.manifest_id
	      JOIN manifests m ON m.id = rm.manifest_id
	      JOIN repositories r ON r.id = rm.repository_id
	      LEFT JOIN image_package_state ps ON ps.manifest_id = m.id
	      -- (+: by tag_history_digest, not every tag of the repository)
	      LEFT JOIN tag_history th ON th.digest IN (m.digest, rm.index_digest) AND +th.repository_id = rm.repository_id
	           AND th.gone IS NULL
	           AND NOT EXISTS (SELECT 1 FROM tag_history n
	                           WHERE n.repository_id = th.repository_id AND n.tag = th.tag AND n.last_seen > th.last_seen)
	      WHERE m.indexed_at IS NOT NULL
	      GROUP BY rm.repository_id, rm.manifest_id)`,
	`DELETE FROM find_images_stale`,
}

// prepareFindImages prepares refreshFindImages's statements on the writer,
// once the migrations are applied (before, the tables may not exist).
func (db *DB) prepareFindImages(ctx context.Context) error {
	for _, q := range findImagesRefresh {
		st, err := db.w.PrepareContext(ctx, q)
		if err != nil {
			db.closeFindImages()
			return fmt.Errorf("find_images: %w", err)
		}
		db.findStmts = append(db.findStmts, st)
	}
	return nil
}

func (db *DB) closeFindImages() {
	for _, st := range db.findStmts {
		st.Close()
	}
	db.findStmts = nil
}

// refreshFindImages rebuilds in tx the rows of find_images that are marked
// stale. Without prepared statements (during the migrations) it prepares
// them in tx.
func (db *DB) refreshFindImages(ctx context.Context, tx *sql.Tx) error {
	var stale bool
	for i, q := range findImagesRefresh {
		var st *sql.Stmt
		if db.findStmts != nil {
			st = tx.StmtContext(ctx, db.findStmts[i])
		} else {
			var err error
			if st, err = tx.PrepareContext(ctx, q); err != nil {
				return fmt.Errorf("find_images: %w", err)
			}
		}
		var err error
		if i == 0 {
			err = st.QueryRowContext(ctx).Scan(&stale)
		} else {
			_, err = st.ExecContext(ctx)
		}
		st.Close()
		if err != nil {
			return fmt.Errorf("find_images: %w", err)
		}
		if !stale {
			return nil
		}
	}
	return nil
}
