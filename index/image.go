package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auditor-dev/auditor/overlay"
)

// Manifest returns what the index holds for a manifest digest; the zero
// ManifestState when it holds nothing.
func (db *DB) Manifest(ctx context.Context, digest string) (ManifestState, error) {
	var st ManifestState
	var id int64
	var indexedAt sql.NullString
	var configVersion sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT id, is_index, indexed_at, config_version FROM manifests WHERE digest = ?`, digest).Scan(&id, &st.IsIndex, &indexedAt, &configVersion)
	if errors.Is(err, sql.ErrNoRows) {
		err = db.r.QueryRowContext(ctx, `SELECT reason FROM artifact_manifests WHERE digest = ?`, digest).Scan(&st.Artifact)
		if errors.Is(err, sql.ErrNoRows) {
			return ManifestState{}, nil
		}
		if err != nil {
			return st, fmt.Errorf("manifest %s: %w", digest, err)
		}
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("manifest %s: %w", digest, err)
	}
	st.Indexed = indexedAt.Valid
	if !st.IsIndex && configVersion.Int64 < ConfigVersion {
		st.Indexed = false // its config is read again (PutImage fills the columns in)
	}
	if !st.IsIndex {
		if st.Indexed {
			st.Indexed, err = db.manifestScanned(ctx, id) // else its layers are re-read for their scanners
		}
		return st, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT child_digest, COALESCE(media_type, ''), COALESCE(os, ''),
		COALESCE(architecture, ''), COALESCE(variant, '') FROM index_children WHERE index_id = ? ORDER BY position`, id)
	if err != nil {
		return st, fmt.Errorf("manifest %s: %w", digest, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c IndexChild
		if err := rows.Scan(&c.Digest, &c.MediaType, &c.Platform.OS, &c.Platform.Architecture, &c.Platform.Variant); err != nil {
			return st, err
		}
		st.Children = append(st.Children, c)
	}
	return st, rows.Err()
}

// PutArtifact records that manifest digest is not a container image, and
// why (its config or layer media type), so that later scans skip it.
func (db *DB) PutArtifact(ctx context.Context, digest, reason string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO artifact_manifests (digest, reason, first_seen) VALUES (?, ?, ?)`,
			digest, reason, db.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("artifact %s: %w", digest, err)
	}
	return nil
}

// PutIndex stores an image index and the manifests it lists. It does not
// index the children: each is stored with PutImage.
func (db *DB) PutIndex(ctx context.Context, idx *ImageIndex) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO manifests (digest, media_type, is_index, size, indexed_at)
			VALUES (?, ?, 1, ?, ?)
			ON CONFLICT (digest) DO UPDATE SET indexed_at = excluded.indexed_at RETURNING id`,
			idx.Digest, idx.MediaType, idx.Size, db.now()).Scan(&id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM index_children WHERE index_id = ?`, id); err != nil {
			return err
		}
		for i, c := range idx.Children {
			if _, err := tx.ExecContext(ctx, `INSERT INTO index_children
				(index_id, position, child_digest, media_type, os, architecture, variant) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				id, i, c.Digest, nullStr(c.MediaType), nullStr(c.Platform.OS), nullStr(c.Platform.Architecture),
				nullStr(c.Platform.Variant)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index %s: store: %w", idx.Digest, err)
	}
	return nil
}

// PutImage stores an image manifest with its config and history, maps it to
// its layers (which must all be indexed already), computes which layer
// entries its final filesystem hides, and marks it indexed, all in one
// transaction. It also records that repo holds the image (through
// indexDigest, when a tag reached it through an index). An image already
// indexed is only linked to repo.
func (db *DB) PutImage(ctx context.Context, repo Repo, indexDigest string, img *Image) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		var indexedAt sql.NullString
		var configVersion sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT id, indexed_at, config_version FROM manifests WHERE digest = ?`, img.Digest).Scan(&id, &indexedAt, &configVersion)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if id, err = insertManifest(ctx, tx, img); err != nil {
				return err
			}
		case err != nil:
			return err
		case configVersion.Int64 < ConfigVersion:
			// Indexed by an older version: the config columns it lacked
			// are filled in.
			if err := db.updateConfig(ctx, tx, id, img, indexedAt.Valid); err != nil {
				return err
			}
		}
		if !indexedAt.Valid {
			if err := db.buildImage(ctx, tx, id, img); err != nil {
				return err
			}
		}
		return db.link(ctx, tx, repo, id, indexDigest)
	})
	if err != nil {
		return fmt.Errorf("image %s: store: %w", img.Digest, err)
	}
	return nil
}

// LinkImage records that repo holds an already indexed image, and reports
// whether the image was indexed with its whole config (if not, nothing is
// written: an image indexed before the index held every config column is
// stored again by PutImage, which fills them in).
func (db *DB) LinkImage(ctx context.Context, repo Repo, indexDigest, digest string) (bool, error) {
	linked := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM manifests WHERE digest = ? AND indexed_at IS NOT NULL AND is_index = 0
			AND config_version >= ?`, digest, ConfigVersion).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		linked = true
		return db.link(ctx, tx, repo, id, indexDigest)
	})
	if err != nil {
		return false, fmt.Errorf("image %s: link to %s: %w", digest, repo, err)
	}
	return linked, nil
}

func (db *DB) link(ctx context.Context, tx *sql.Tx, repo Repo, manifestID int64, indexDigest string) error {
	rid, err := repoID(ctx, tx, repo)
	if err != nil {
		return err
	}
	now := db.now()
	_, err = tx.ExecContext(ctx, `INSERT INTO repo_manifests (repository_id, manifest_id, index_digest, first_seen, last_seen)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (repository_id, manifest_id) DO UPDATE SET last_seen = excluded.last_seen,
			index_digest = COALESCE(excluded.index_digest, index_digest)`,
		rid, manifestID, nullStr(indexDigest), now, now)
	return err
}

// repoID returns repo's id, adding it if new. (Looked up first: an upsert
// updating the row would compile its UPDATE triggers, of migration 0026,
// into every call.)
func repoID(ctx context.Context, tx *sql.Tx, repo Repo) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM repositories WHERE registry = ? AND name = ?`, repo.Registry, repo.Name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.QueryRowContext(ctx, `INSERT INTO repositories (registry, name) VALUES (?, ?) RETURNING id`, repo.Registry, repo.Name).Scan(&id)
	}
	return id, err
}

// jsonOrNull is JSON text as stored, or NULL.
func jsonOrNull(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func insertManifest(ctx context.Context, tx *sql.Tx, img *Image) (int64, error) {
	c, err := img.ConfigJSON()
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO manifests
		(digest, media_type, is_index, size, config_digest, created, os, architecture, variant, os_version,
		 user, workdir, entrypoint, cmd, env, labels, exposed_ports, volumes, stop_signal, reader_version,
		 healthcheck, onbuild, shell, config_version)
		VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		img.Digest, img.MediaType, img.Size, img.ConfigDigest, timeOrNull(img.Created),
		nullStr(img.Platform.OS), nullStr(img.Platform.Architecture), nullStr(img.Platform.Variant), nullStr(img.Platform.OSVersion),
		nullStr(img.User), nullStr(img.WorkingDir), jsonOrNull(c.Entrypoint), jsonOrNull(c.Cmd), jsonOrNull(c.Env), jsonOrNull(c.Labels),
		jsonOrNull(c.ExposedPorts), jsonOrNull(c.Volumes), nullStr(img.StopSignal),
		ReaderVersion, jsonOrNull(c.Healthcheck), jsonOrNull(c.OnBuild), jsonOrNull(c.Shell), ConfigVersion).Scan(&id)
	return id, err
}

// ConfigVersion is what manifests.config_version says of a row holding
// every config column this version stores.
const ConfigVersion = 1

// updateConfig sets the config columns added by migration 0015 on an
// existing manifest row; one already indexed gets a new indexed_at, so that
// rules judge it again.
func (db *DB) updateConfig(ctx context.Context, tx *sql.Tx, id int64, img *Image, indexed bool) error {
	c, err := img.ConfigJSON()
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE manifests SET healthcheck = ?, onbuild = ?, shell = ?, config_version = ?,
		indexed_at = CASE WHEN ? THEN ? ELSE indexed_at END WHERE id = ?`,
		jsonOrNull(c.Healthcheck), jsonOrNull(c.OnBuild), jsonOrNull(c.Shell), ConfigVersion, indexed, db.now(), id)
	return err
}

// buildImage writes an image's layer map, history and hidden entries, and
// marks it indexed.
func (db *DB) buildImage(ctx context.Context, tx *sql.Tx, id int64, img *Image) error {
	for _, q := range []string{`DELETE FROM manifest_layers WHERE manifest_id = ?`, `DELETE FROM manifest_history WHERE manifest_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	spans := make([]layerSpan, len(img.Layers))
	for pos, d := range img.Layers {
		s := &spans[pos]
		err := tx.QueryRowContext(ctx, `SELECT id, first_entry, last_entry FROM layers WHERE digest = ?`, d).Scan(&s.id, &s.first, &s.last)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("layer %s is not indexed", d)
		}
		if err != nil {
			return err
		}
		var mt any
		if pos < len(img.LayerMediaTypes) {
			mt = nullStr(img.LayerMediaTypes[pos])
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO manifest_layers (manifest_id, position, layer_id, media_type) VALUES (?, ?, ?, ?)`, id, pos, s.id, mt); err != nil {
			return err
		}
	}
	layerPos := 0
	user := ""
	for pos, h := range img.History {
		if u, ok := HistoryUser(h.CreatedBy); ok {
			user = u
		}
		var lp any
		if !h.EmptyLayer && layerPos < len(img.Layers) {
			lp = layerPos
			layerPos++
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO manifest_history
			(manifest_id, position, created, created_by, comment, author, empty_layer, layer_position, user)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, pos, timeOrNull(h.Created), nullStr(h.CreatedBy), nullStr(h.Comment), nullStr(h.Author), h.EmptyLayer, lp, user); err != nil {
			return err
		}
	}

	if err := db.writeVisibility(ctx, tx, id, spans); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE manifests SET indexed_at = ?, reader_version = ? WHERE id = ?`, db.now(), ReaderVersion, id)
	return err
}

// writeVisibility computes the entries image id (of the given layers, whose
// manifest_layers rows are written) hides, and stores them in place of what
// the index held.
func (db *DB) writeVisibility(ctx context.Context, tx *sql.Tx, id int64, spans []layerSpan) error {
	for _, q := range []string{`DELETE FROM hidden WHERE manifest_id = ?`, `DELETE FROM moved WHERE manifest_id = ?`,
		`DELETE FROM visibility_stale WHERE manifest_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	hw, err := newHiddenWriter(ctx, tx, id)
	if err != nil {
		return err
	}
	var total int64
	for _, s := range spans {
		total += s.last - s.first + 1
	}
	nameBytes, err := spanNameBytes(ctx, tx, spans)
	if err != nil {
		return err
	}
	if total > db.overlayInMemoryMax() || nameBytes > db.overlayInMemoryMaxBytes() {
		err = overlaySorted(ctx, tx, id, hw)
	} else {
		err = db.overlayInMemory(ctx, tx, spans, hw)
	}
	if cerr := hw.close(err == nil); err == nil {
		err = cerr
	}
	return err
}

// spanNameBytes returns the bytes of the paths and link targets of the
// layers' entries: recorded per layer when it was indexed, summed from its
// entries for a layer indexed before that.
func spanNameBytes(ctx context.Context, tx *sql.Tx, spans []layerSpan) (int64, error) {
	var total int64
	for _, s := range spans {
		var n sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT name_bytes FROM layers WHERE id = ?`, s.id).Scan(&n); err != nil {
			return 0, fmt.Errorf("layer %d: %w", s.id, err)
		}
		if !n.Valid {
			err := tx.QueryRowContext(ctx, `SELECT COALESCE(sum(length(CAST(p.path AS BLOB)) + COALESCE(length(CAST(e.linkname AS BLOB)), 0)), 0)
				FROM entries e JOIN paths p ON p.id = e.path_id WHERE e.id BETWEEN ? AND ?`, s.first, s.last).Scan(&n)
			if err != nil {
				return 0, fmt.Errorf("layer %d: %w", s.id, err)
			}
		}
		total += n.Int64
	}
	return total, nil
}

// recomputeStale computes again the visibility of the indexed images a
// migration marked stale (visibility_stale), one transaction each, so that
// an interrupted migration resumes where it stopped.
func (db *DB) recomputeStale(ctx context.Context) error {
	for {
		var id int64
		var digest string
		err := db.w.QueryRowContext(ctx, `SELECT s.manifest_id, COALESCE(m.digest, '') FROM visibility_stale s
			LEFT JOIN manifests m ON m.id = s.manifest_id ORDER BY 1 LIMIT 1`).Scan(&id, &digest)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("recompute visibility: %w", err)
		}
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			spans, err := manifestSpans(ctx, tx, id)
			if err != nil {
				return err
			}
			return db.writeVisibility(ctx, tx, id, spans)
		})
		if err != nil {
			return fmt.Errorf("recompute visibility of image %s: %w", digest, err)
		}
	}
}

// manifestSpans returns the stored layers of image id, bottom first.
func manifestSpans(ctx context.Context, tx *sql.Tx, id int64) ([]layerSpan, error) {
	rows, err := tx.QueryContext(ctx, `SELECT l.id, l.first_entry, l.last_entry FROM manifest_layers ml
		JOIN layers l ON l.id = ml.layer_id WHERE ml.manifest_id = ? ORDER BY ml.position`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var spans []layerSpan
	for rows.Next() {
		var s layerSpan
		if err := rows.Scan(&s.id, &s.first, &s.last); err != nil {
			return nil, err
		}
		spans = append(spans, s)
	}
	return spans, rows.Err()
}

// layerSpan is a stored layer's row id and range of entry ids.
type layerSpan struct{ id, first, last int64 }

// overlayInMemory computes with an overlay tree the entries an image of the
// given layers hides, and passes each to out, with the entries that land
// elsewhere than their tar path. The tree of the layers below
// the top one is kept (prefixCache) and reused by the next image that has
// the same ones, which then applies only its own top layer.
func (db *DB) overlayInMemory(ctx context.Context, tx *sql.Tx, spans []layerSpan, out visibilityOut) error {
	if len(spans) == 0 {
		return nil
	}
	below, top := spans[:len(spans)-1], spans[len(spans)-1]
	key := prefixKey(below)
	tree, _, ok := db.prefixes.take(key)
	if !ok {
		tree = overlay.NewTree()
		for pos, s := range below {
			l, err := db.layerEntries(ctx, tx, s)
			if err != nil {
				return err
			}
			tree.Apply(pos, l)
		}
	}
	l, err := db.layerEntries(ctx, tx, top)
	if err != nil {
		return err
	}
	m := tree.Mark()
	tree.Apply(len(below), l)
	hidden, moved, inodes := tree.Result()
	for _, h := range hidden {
		if err := out.add(h); err != nil {
			return err // the tree, half emitted, is dropped
		}
	}
	for _, mv := range moved {
		if err := out.addMoved(mv); err != nil {
			return err
		}
	}
	for _, in := range inodes {
		if err := out.addInode(in); err != nil {
			return err
		}
	}
	tree.Rollback(m)
	// Kept for the next image with the same lower layers, unless the top
	// layer, as large as them, grew its maps (Go maps do not shrink).
	if len(below) > 0 && len(l) <= tree.Entries() {
		db.prefixes.put(key, tree, tree.Charge()+overlay.TreeCharge(l))
	}
	return nil
}

// layerEntries returns a stored layer's overlay entries, from the entry
// cache or SQLite.
func (db *DB) layerEntries(ctx context.Context, tx *sql.Tx, s layerSpan) ([]overlay.Entry, error) {
	key := layerKey{s.id, s.first}
	if l, ok := db.entries.get(key); ok {
		return l, nil
	}
	l, err := overlayEntries(ctx, tx, s.first, s.last)
	if err != nil {
		return nil, err
	}
	db.entries.put(key, l, overlay.EntriesCharge(l, overlayEntryBytes))
	return l, nil
}

func overlayEntries(ctx context.Context, tx *sql.Tx, first, last int64) ([]overlay.Entry, error) {
	rows, err := tx.QueryContext(ctx, `SELECT e.id, p.path, e.type, CASE WHEN e.type IN (?, ?) THEN COALESCE(e.linkname, '') ELSE '' END
		FROM entries e JOIN paths p ON p.id = e.path_id
		WHERE e.id BETWEEN ? AND ? ORDER BY e.id`, TypeSymlink, TypeHardlink, first, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]overlay.Entry, 0, last-first+1)
	for rows.Next() {
		var e overlay.Entry
		if err := rows.Scan(&e.ID, &e.Path, &e.Type, &e.Link); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PutTag records that repo's tag points at digest now: a new mapping gets
// first_seen, a known one has last_seen refreshed (and is no longer gone),
// so a moved tag keeps its old mapping with its old last_seen.
func (db *DB) PutTag(ctx context.Context, repo Repo, tag, digest string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rid, err := repoID(ctx, tx, repo)
		if err != nil {
			return err
		}
		now := db.now()
		// An event when the tag points somewhere else than it did (or
		// was gone, or is new).
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO tag_events (repository_id, tag, at, digest)
			SELECT ?1, ?2, ?3, ?4 WHERE ?4 IS NOT (SELECT digest FROM tag_events
				WHERE repository_id = ?1 AND tag = ?2 ORDER BY at DESC LIMIT 1)`, rid, tag, now, digest); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO tag_history (repository_id, tag, digest, first_seen, last_seen)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (repository_id, tag, digest) DO UPDATE SET last_seen = excluded.last_seen, gone = NULL`,
			rid, tag, digest, now, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("tag %s:%s: store: %w", repo, tag, err)
	}
	return nil
}

// TagsListed records repo's complete list of tags, as the registry gave it
// now: the repository's other tags are gone (tags.current is 0 for them)
// until a scan sees them again; but not those the latest scan has seen.
func (db *DB) TagsListed(ctx context.Context, repo Repo, tags []string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := fillTemp(ctx, tx, "listed", tags); err != nil {
			return err
		}
		// A tag the running scan saw is kept: it may have been pushed
		// after the list was read (the next scan decides).
		return goneWhere(ctx, tx, db.now(), `tag NOT IN (SELECT name FROM temp.listed)
			AND repository_id = (SELECT id FROM repositories WHERE registry = ?2 AND name = ?3)
			AND NOT EXISTS (SELECT 1 FROM tag_history n
			                WHERE n.repository_id = tag_history.repository_id AND n.tag = tag_history.tag
			                  AND n.last_seen >= COALESCE((SELECT max(started) FROM scans), '9'))`, repo.Registry, repo.Name)
	})
	if err != nil {
		return fmt.Errorf("tags of %s: %w", repo, err)
	}
	return nil
}

// CurrentRepositories returns the repositories of registry that have a tag
// not gone.
func (db *DB) CurrentRepositories(ctx context.Context, registry string) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT DISTINCT r.name FROM repositories r
		JOIN tag_history t ON t.repository_id = r.id WHERE r.registry = ? AND t.gone IS NULL ORDER BY 1`, registry)
	if err != nil {
		return nil, fmt.Errorf("repositories of %s: %w", registry, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("repositories of %s: %w", registry, err)
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// goneWhere marks gone at now the tags that cond (SQL over tag_history, with
// now as ?1 and args from ?2) selects and that are not gone yet.
func goneWhere(ctx context.Context, tx *sql.Tx, now, cond string, args ...any) error {
	args = append([]any{now}, args...)
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO tag_events (repository_id, tag, at, digest)
		SELECT DISTINCT repository_id, tag, ?1, NULL FROM tag_history WHERE gone IS NULL AND `+cond, args...); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE tag_history SET gone = ?1 WHERE gone IS NULL AND `+cond, args...)
	return err
}

// fillTemp makes the temporary table temp.<table> (name TEXT PRIMARY KEY)
// hold exactly names.
func fillTemp(ctx context.Context, tx *sql.Tx, table string, names []string) error {
	for _, q := range []string{`CREATE TEMP TABLE IF NOT EXISTS ` + table + ` (name TEXT PRIMARY KEY)`, `DELETE FROM temp.` + table} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	const batch = 256
	for len(names) > 0 {
		n := min(len(names), batch)
		q := `INSERT OR IGNORE INTO temp.` + table + ` (name) VALUES (?)` + strings.Repeat(`, (?)`, n-1)
		args := make([]any, n)
		for i, s := range names[:n] {
			args[i] = s
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		names = names[n:]
	}
	return nil
}
