package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/overlay"
)

// Manifest returns what the index holds for a manifest digest.
func (db *DB) Manifest(ctx context.Context, digest string) (auditor.ManifestState, error) {
	var st auditor.ManifestState
	var id int64
	var indexedAt *string
	var configVersion *int64
	err := db.pool.QueryRow(ctx, `SELECT id, is_index, indexed_at, config_version FROM manifests WHERE digest = $1`, digest).
		Scan(&id, &st.IsIndex, &indexedAt, &configVersion)
	if noRows(err) {
		err = db.pool.QueryRow(ctx, `SELECT reason FROM artifact_manifests WHERE digest = $1`, digest).Scan(&st.Artifact)
		if noRows(err) {
			return auditor.ManifestState{}, nil
		}
		if err != nil {
			return st, fmt.Errorf("manifest %s: %w", digest, err)
		}
		st.Artifact = Bytes(st.Artifact)
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("manifest %s: %w", digest, err)
	}
	st.Indexed = indexedAt != nil
	if !st.IsIndex && (configVersion == nil || *configVersion < index.ConfigVersion) {
		st.Indexed = false
	}
	if !st.IsIndex {
		if st.Indexed {
			st.Indexed, err = db.manifestScanned(ctx, id)
		}
		return st, err
	}
	rows, err := db.pool.Query(ctx, `SELECT child_digest, COALESCE(media_type, ''), COALESCE(os, ''),
		COALESCE(architecture, ''), COALESCE(variant, '') FROM index_children WHERE index_id = $1 ORDER BY position`, id)
	if err != nil {
		return st, fmt.Errorf("manifest %s: %w", digest, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c auditor.IndexChild
		if err := rows.Scan(&c.Digest, &c.MediaType, &c.Platform.OS, &c.Platform.Architecture, &c.Platform.Variant); err != nil {
			return st, err
		}
		c.MediaType, c.Platform.OS, c.Platform.Architecture, c.Platform.Variant =
			Bytes(c.MediaType), Bytes(c.Platform.OS), Bytes(c.Platform.Architecture), Bytes(c.Platform.Variant)
		st.Children = append(st.Children, c)
	}
	return st, rows.Err()
}

// manifestScanned reports whether every layer of an indexed image was read
// by every scanner set at its current version.
func (db *DB) manifestScanned(ctx context.Context, manifestID int64) (bool, error) {
	for _, s := range db.Scanners() {
		var missing bool
		err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM manifest_layers ml
			LEFT JOIN layer_scanners c ON c.layer_id = ml.layer_id AND c.scanner = $1 AND c.version = $2
			WHERE ml.manifest_id = $3 AND c.layer_id IS NULL)`, s.Name, s.Version, manifestID).Scan(&missing)
		if err != nil {
			return false, fmt.Errorf("manifest %d: scanner %s: %w", manifestID, s.Name, err)
		}
		if missing {
			return false, nil
		}
	}
	return true, nil
}

// PutArtifact records that manifest digest is not a container image.
func (db *DB) PutArtifact(ctx context.Context, digest, reason string) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO artifact_manifests (digest, reason, first_seen) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		digest, Text(reason), db.now())
	if err != nil {
		return fmt.Errorf("artifact %s: %w", digest, err)
	}
	return nil
}

// PutIndex stores an image index and the manifests it lists.
func (db *DB) PutIndex(ctx context.Context, idx *auditor.ImageIndex) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO manifests (digest, media_type, is_index, size, indexed_at)
			VALUES ($1, $2, true, $3, $4)
			ON CONFLICT (digest) DO UPDATE SET indexed_at = excluded.indexed_at RETURNING id`,
			idx.Digest, Text(idx.MediaType), idx.Size, db.now()).Scan(&id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM index_children WHERE index_id = $1`, id); err != nil {
			return err
		}
		for i, c := range idx.Children {
			if _, err := tx.Exec(ctx, `INSERT INTO index_children
				(index_id, position, child_digest, media_type, os, architecture, variant) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				id, i, Text(c.Digest), nullStr(c.MediaType), nullStr(c.Platform.OS), nullStr(c.Platform.Architecture),
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

// PutImage stores an image manifest with its config and history, maps it
// to its layers (all indexed already), computes what its final filesystem
// hides, and marks it indexed, in one transaction; and links it to repo.
func (db *DB) PutImage(ctx context.Context, repo auditor.Repo, indexDigest string, img *auditor.Image) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		var indexedAt *string
		var configVersion *int64
		// Two tags of one image are stored at once by two crawl workers (or
		// hosts): the lock on the digest makes the second wait for the
		// first's commit and then find its row; FOR UPDATE alone locks no
		// row that is not there yet, and both inserted (a unique violation).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, img.Digest); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT id, indexed_at, config_version FROM manifests WHERE digest = $1 FOR UPDATE`, img.Digest).
			Scan(&id, &indexedAt, &configVersion)
		switch {
		case noRows(err):
			if id, err = insertManifest(ctx, tx, img); err != nil {
				return err
			}
		case err != nil:
			return err
		case configVersion == nil || *configVersion < index.ConfigVersion:
			c, err := img.ConfigJSON()
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE manifests SET healthcheck = $1, onbuild = $2, shell = $3, config_version = $4,
				indexed_at = CASE WHEN indexed_at IS NOT NULL THEN $5 END WHERE id = $6`,
				jsonOrNull(c.Healthcheck), jsonOrNull(c.OnBuild), jsonOrNull(c.Shell), index.ConfigVersion, db.now(), id); err != nil {
				return err
			}
		}
		if indexedAt == nil {
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

// LinkImage records that repo holds an already indexed image; false (and
// nothing written) when it is not indexed with its whole config.
func (db *DB) LinkImage(ctx context.Context, repo auditor.Repo, indexDigest, digest string) (bool, error) {
	linked := false
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM manifests WHERE digest = $1 AND indexed_at IS NOT NULL AND NOT is_index
			AND config_version >= $2`, digest, index.ConfigVersion).Scan(&id)
		if noRows(err) {
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

func (db *DB) link(ctx context.Context, tx pgx.Tx, repo auditor.Repo, manifestID int64, indexDigest string) error {
	rid, err := repoID(ctx, tx, repo)
	if err != nil {
		return err
	}
	now := db.now()
	_, err = tx.Exec(ctx, `INSERT INTO repo_manifests (repository_id, manifest_id, index_digest, first_seen, last_seen)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (repository_id, manifest_id) DO UPDATE SET last_seen = excluded.last_seen,
			index_digest = COALESCE(excluded.index_digest, repo_manifests.index_digest)`,
		rid, manifestID, nullStr(indexDigest), now)
	return err
}

func repoID(ctx context.Context, tx pgx.Tx, repo auditor.Repo) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO repositories (registry, name) VALUES ($1, $2)
		ON CONFLICT (registry, name) DO UPDATE SET name = excluded.name RETURNING id`, Text(repo.Registry), Text(repo.Name)).Scan(&id)
	return id, err
}

// jsonOrNull is JSON text as stored, or NULL.
func jsonOrNull(s *string) any {
	if s == nil {
		return nil
	}
	return Text(*s)
}

func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func insertManifest(ctx context.Context, tx pgx.Tx, img *auditor.Image) (int64, error) {
	c, err := img.ConfigJSON()
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO manifests
		(digest, media_type, is_index, size, config_digest, created, os, architecture, variant, os_version,
		 "user", workdir, entrypoint, cmd, env, labels, exposed_ports, volumes, stop_signal, reader_version,
		 healthcheck, onbuild, shell, config_version)
		VALUES ($1, $2, false, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
		RETURNING id`,
		img.Digest, Text(img.MediaType), img.Size, Text(img.ConfigDigest), timeOrNull(img.Created),
		nullStr(img.Platform.OS), nullStr(img.Platform.Architecture), nullStr(img.Platform.Variant), nullStr(img.Platform.OSVersion),
		nullStr(img.User), nullStr(img.WorkingDir), jsonOrNull(c.Entrypoint), jsonOrNull(c.Cmd), jsonOrNull(c.Env), jsonOrNull(c.Labels),
		jsonOrNull(c.ExposedPorts), jsonOrNull(c.Volumes), nullStr(img.StopSignal),
		index.ReaderVersion, jsonOrNull(c.Healthcheck), jsonOrNull(c.OnBuild), jsonOrNull(c.Shell), index.ConfigVersion).Scan(&id)
	return id, err
}

// buildImage writes an image's layer map, history and visibility, and
// marks it indexed.
func (db *DB) buildImage(ctx context.Context, tx pgx.Tx, id int64, img *auditor.Image) error {
	for _, q := range []string{`DELETE FROM manifest_layers WHERE manifest_id = $1`, `DELETE FROM manifest_history WHERE manifest_id = $1`,
		`DELETE FROM hidden WHERE manifest_id = $1`, `DELETE FROM moved WHERE manifest_id = $1`} {
		if _, err := tx.Exec(ctx, q, id); err != nil {
			return err
		}
	}
	layerIDs := make([]int64, len(img.Layers))
	for pos, d := range img.Layers {
		err := tx.QueryRow(ctx, `SELECT id FROM layers WHERE digest = $1`, d).Scan(&layerIDs[pos])
		if noRows(err) {
			return fmt.Errorf("layer %s is not indexed", d)
		}
		if err != nil {
			return err
		}
		var mt any
		if pos < len(img.LayerMediaTypes) {
			mt = nullStr(img.LayerMediaTypes[pos])
		}
		if _, err := tx.Exec(ctx, `INSERT INTO manifest_layers (manifest_id, position, layer_id, media_type) VALUES ($1, $2, $3, $4)`,
			id, pos, layerIDs[pos], mt); err != nil {
			return err
		}
	}
	layerPos := 0
	user := ""
	var b pgx.Batch
	for pos, h := range img.History {
		if u, ok := index.HistoryUser(h.CreatedBy); ok {
			user = u
		}
		var lp any
		if !h.EmptyLayer && layerPos < len(img.Layers) {
			lp = layerPos
			layerPos++
		}
		b.Queue(`INSERT INTO manifest_history
			(manifest_id, position, created, created_by, comment, author, empty_layer, layer_position, "user")
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			id, pos, timeOrNull(h.Created), nullStr(h.CreatedBy), nullStr(h.Comment), nullStr(h.Author), h.EmptyLayer, lp, Text(user))
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if err := db.writeVisibility(ctx, tx, id, layerIDs); err != nil {
		return fmt.Errorf("visibility: %w", err)
	}
	_, err := tx.Exec(ctx, `UPDATE manifests SET indexed_at = $1, reader_version = $2 WHERE id = $3`, db.now(), index.ReaderVersion, id)
	return err
}

// writeVisibility computes, with overlay.Compute, what image id (of these
// layers) hides and where its entries land, and stores it.
func (db *DB) writeVisibility(ctx context.Context, tx pgx.Tx, id int64, layerIDs []int64) error {
	layers := make([][]overlay.Entry, len(layerIDs))
	for pos, lid := range layerIDs {
		l, err := db.overlayEntries(ctx, tx, lid)
		if err != nil {
			return err
		}
		layers[pos] = l
	}
	hidden, moved, inodes := overlay.Compute(layers)
	rows := make([][]any, len(hidden))
	for i, h := range hidden {
		rows[i] = []any{id, h.Pos, h.ID - 1, h.By, int16(h.How)}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"hidden"}, []string{"manifest_id", "layer_position", "seq", "hidden_by_position", "how"},
		pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	if len(moved) > 0 {
		keys := make([]string, len(moved))
		for i, m := range moved {
			keys[i] = m.Path // stored text already: the overlay ran on it
		}
		pids, err := db.paths.intern(ctx, db, keys)
		if err != nil {
			return err
		}
		rows := make([][]any, len(moved))
		for i, m := range moved {
			rows[i] = []any{id, m.Pos, m.ID - 1, pids[m.Path]}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"moved"}, []string{"manifest_id", "layer_position", "seq", "path_id"},
			pgx.CopyFromRows(rows)); err != nil {
			return err
		}
	}
	if len(inodes) > 0 {
		pos, seq, tpos, tseq := make([]int32, len(inodes)), make([]int64, len(inodes)), make([]int32, len(inodes)), make([]int64, len(inodes))
		for i, in := range inodes {
			pos[i], seq[i], tpos[i], tseq[i] = int32(in.Pos), in.ID-1, int32(in.TargetPos), in.Target-1
		}
		// Only hardlinks whose own header says other than their file.
		if _, err := tx.Exec(ctx, `INSERT INTO moved (manifest_id, layer_position, seq, path_id, inode_position, inode_seq)
			SELECT $1, j.pos, e.seq, e.path_id, j.tpos, t.seq
			FROM unnest($2::int[], $3::bigint[], $4::int[], $5::bigint[]) AS j(pos, seq, tpos, tseq)
			JOIN manifest_layers ml ON ml.manifest_id = $1 AND ml.position = j.pos
			JOIN entries e ON e.layer_id = ml.layer_id AND e.seq = j.seq
			JOIN manifest_layers tl ON tl.manifest_id = $1 AND tl.position = j.tpos
			JOIN entries t ON t.layer_id = tl.layer_id AND t.seq = j.tseq
			WHERE t.type <> 0 OR t.content_id IS DISTINCT FROM e.content_id OR t.mode <> e.mode OR t.uid <> e.uid OR t.gid <> e.gid
			   OR t.uname IS DISTINCT FROM e.uname OR t.gname IS DISTINCT FROM e.gname OR t.capabilities IS DISTINCT FROM e.capabilities
			ON CONFLICT (manifest_id, layer_position, seq) DO UPDATE SET inode_position = excluded.inode_position, inode_seq = excluded.inode_seq`,
			id, pos, seq, tpos, tseq); err != nil {
			return fmt.Errorf("hardlinks: %w", err)
		}
	}
	return nil
}

// overlayEntries returns what the overlay needs of a stored layer's
// entries, in tar order; an entry's ID is its seq + 1 (0 is the overlay's
// "no entry").
func (db *DB) overlayEntries(ctx context.Context, tx pgx.Tx, layerID int64) ([]overlay.Entry, error) {
	db.mu.Lock()
	l, ok := db.entries[layerID]
	db.mu.Unlock()
	if ok {
		return l, nil
	}
	rows, err := tx.Query(ctx, `SELECT e.seq, p.path, e.type, CASE WHEN e.type IN (2, 3) THEN COALESCE(e.linkname, '') ELSE '' END
		FROM entries e JOIN paths p ON p.id = e.path_id WHERE e.layer_id = $1 ORDER BY e.seq`, layerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var e overlay.Entry
		var typ int16
		if err := rows.Scan(&e.ID, &e.Path, &typ, &e.Link); err != nil {
			return nil, err
		}
		e.ID++
		e.Type = auditor.EntryType(typ)
		l = append(l, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	db.mu.Lock()
	if len(db.entries) >= 64 {
		clear(db.entries)
	}
	db.entries[layerID] = l
	db.mu.Unlock()
	return l, nil
}

// PutTag records that repo's tag points at digest now (see index.DB.PutTag).
func (db *DB) PutTag(ctx context.Context, repo auditor.Repo, tag, digest string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rid, err := repoID(ctx, tx, repo)
		if err != nil {
			return err
		}
		now := db.now()
		if _, err := tx.Exec(ctx, `INSERT INTO tag_events (repository_id, tag, at, digest)
			SELECT $1, $2, $3, $4::text WHERE $4::text IS DISTINCT FROM (SELECT digest FROM tag_events
				WHERE repository_id = $1 AND tag = $2 ORDER BY at DESC LIMIT 1)
			ON CONFLICT (repository_id, tag, at) DO UPDATE SET digest = excluded.digest`, rid, Text(tag), now, digest); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO tag_history (repository_id, tag, digest, first_seen, last_seen)
			VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (repository_id, tag, digest) DO UPDATE SET last_seen = excluded.last_seen, gone = NULL`,
			rid, Text(tag), digest, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("tag %s:%s: store: %w", repo, tag, err)
	}
	return nil
}

// TagsListed records repo's complete list of tags, read now: its other
// tags are gone, but not those the latest scan has seen.
func (db *DB) TagsListed(ctx context.Context, repo auditor.Repo, tags []string) error {
	listed := make([]string, len(tags))
	for i, t := range tags {
		listed[i] = Text(t)
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return goneWhere(ctx, tx, db.now(), `tag <> ALL($2::text[])
			AND repository_id = (SELECT id FROM repositories WHERE registry = $3 AND name = $4)
			AND NOT EXISTS (SELECT 1 FROM tag_history n
			                WHERE n.repository_id = tag_history.repository_id AND n.tag = tag_history.tag
			                  AND n.last_seen >= COALESCE((SELECT max(started) FROM scans), '9'))`, listed, Text(repo.Registry), Text(repo.Name))
	})
	if err != nil {
		return fmt.Errorf("tags of %s: %w", repo, err)
	}
	return nil
}

// goneWhere marks gone at now ($1) the tags not gone yet that cond (over
// tag_history, its arguments from $2) selects.
func goneWhere(ctx context.Context, tx pgx.Tx, now, cond string, args ...any) error {
	args = append([]any{now}, args...)
	if _, err := tx.Exec(ctx, `INSERT INTO tag_events (repository_id, tag, at, digest)
		SELECT DISTINCT repository_id, tag, $1::text, NULL FROM tag_history WHERE gone IS NULL AND `+cond+`
		ON CONFLICT (repository_id, tag, at) DO UPDATE SET digest = NULL`, args...); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE tag_history SET gone = $1 WHERE gone IS NULL AND `+cond, args...)
	return err
}

// CurrentRepositories returns the repositories of registry that have a tag
// not gone.
func (db *DB) CurrentRepositories(ctx context.Context, registry string) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT DISTINCT r.name FROM repositories r
		JOIN tag_history t ON t.repository_id = r.id WHERE r.registry = $1 AND t.gone IS NULL ORDER BY 1`, Text(registry))
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
		out = append(out, Bytes(name))
	}
	return out, rows.Err()
}
