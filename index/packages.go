package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/auditor-dev/auditor"
)

// The index keeps each image's packages (imagepkg.Resolve; the index is
// an imagepkg.Store): the tables of migration 0022 behind the packages and
// package_files views, the package column of image_files and the os
// columns of images.

// typeOf maps an image_files type back to an entry type; ok is false for
// the markers a merged view does not hold (whiteouts, opaque markers).
func typeOf(typ string) (auditor.EntryType, bool) {
	switch typ {
	case "file", "hardlink":
		return auditor.TypeFile, true
	case "dir":
		return auditor.TypeDir, true
	case "symlink":
		return auditor.TypeSymlink, true
	case "whiteout", "opaque":
		return 0, false
	}
	return auditor.TypeOther, true
}

// VisibleFiles are the visible entries of the image's merged view, with the
// md5 and sha1 of their contents when the index has them, and those of the
// regular files they replaced (VisibleFile.Replaced). It reads the
// tables under the image_files view for the one image (the rows the view
// gives with visible set, and their contents), without the view's joins of
// repositories, owners and hardlink sizes nor its DISTINCT: about 6x faster
// per image (issue 15, the cost of resolving packages after a scan).
func (db *DB) VisibleFiles(ctx context.Context, image string) ([]auditor.VisibleFile, error) {
	db.visMu.Lock()
	cached := db.vis != nil
	db.visMu.Unlock()
	if cached {
		return db.visibleCached(ctx, image)
	}
	return QueryVisibleFiles(ctx, db.r, `SELECT COALESCE(mp.path, p.path),
		CASE COALESCE(t.type, e.type) WHEN 0 THEN 'file' WHEN 1 THEN 'dir' WHEN 2 THEN 'symlink' WHEN 3 THEN 'hardlink'
			WHEN 7 THEN 'whiteout' WHEN 8 THEN 'opaque' ELSE 'other' END,
		COALESCE(CASE WHEN t.id IS NULL OR t.type = 0 THEN e.linkname ELSE t.linkname END, ''),
		COALESCE(c.sha256, ''), COALESCE(c.md5, ''), COALESCE(c.sha1, ''), h.entry_id IS NULL
		FROM manifests m
		JOIN manifest_layers ml ON ml.manifest_id = m.id
		JOIN layers l ON l.id = ml.layer_id
		JOIN entries e ON e.layer_id = l.id AND e.id BETWEEN l.first_entry AND l.last_entry
		JOIN paths p ON p.id = e.path_id
		LEFT JOIN hidden h ON h.manifest_id = ml.manifest_id AND h.layer_position = ml.position AND h.entry_id = e.id
		LEFT JOIN moved mv ON mv.manifest_id = ml.manifest_id AND mv.layer_position = ml.position AND mv.entry_id = e.id
		LEFT JOIN paths mp ON mp.id = mv.path_id
		LEFT JOIN entries t ON t.id = mv.inode_entry_id
		LEFT JOIN contents c ON c.id = COALESCE(t.content_id, e.content_id)
		WHERE m.digest = ? AND m.indexed_at IS NOT NULL
			AND (h.entry_id IS NULL OR COALESCE(t.type, e.type) IN (0, 3) AND (c.md5 IS NOT NULL OR c.sha1 IS NOT NULL))
			AND EXISTS (SELECT 1 FROM repo_manifests rm WHERE rm.manifest_id = m.id)`, image, nil)
}

// layerRows keeps the entries of the layers VisibleFiles read, while
// CacheLayers is in effect: a layer shared by many images (a base, a
// runtime) is read once, and each image's merged view is its layers' rows
// less its hidden entries, with its moved ones where they land (the rows
// the image_files view gives as visible).
type layerRows struct {
	users  int
	rows   int                  // in all layers kept
	layers map[int64]*layerKept // by layers.id
}

type layerKept struct {
	first, last int64 // entries.id range, checked on each use
	rows        []keptRow
}

type keptRow struct {
	id int64
	f  auditor.VisibleFile
	ok bool // a type a merged view holds (not a whiteout or opaque marker)
}

// maxCachedRows bounds the entries CacheLayers keeps (about 250 bytes
// each): past it the cache is emptied, and a larger layer is not kept.
const maxCachedRows = 500_000

// CacheLayers has VisibleFiles keep each layer's entries it reads until
// done is called (imagepkg.Update calls it: imagepkg.LayerCacher). A
// layer's entries do not change; the md5 and sha1 of its contents are read
// with them, so a cache is only for one update.
func (db *DB) CacheLayers() (done func()) {
	db.visMu.Lock()
	defer db.visMu.Unlock()
	if db.vis == nil {
		db.vis = &layerRows{layers: map[int64]*layerKept{}}
	}
	db.vis.users++
	return func() {
		db.visMu.Lock()
		defer db.visMu.Unlock()
		if db.vis.users--; db.vis.users == 0 {
			db.vis = nil
		}
	}
}

// entryTypeName is the image_files view's name of an entries.type.
func entryTypeName(t int64) string {
	switch t {
	case 0:
		return "file"
	case 1:
		return "dir"
	case 2:
		return "symlink"
	case 3:
		return "hardlink"
	case 7:
		return "whiteout"
	case 8:
		return "opaque"
	}
	return "other"
}

// visibleCached is VisibleFiles through the layer cache.
func (db *DB) visibleCached(ctx context.Context, image string) ([]auditor.VisibleFile, error) {
	fail := func(err error) ([]auditor.VisibleFile, error) {
		return nil, fmt.Errorf("visible files of %s: %w", image, err)
	}
	type imageLayer struct{ pos, id, first, last int64 }
	var lays []imageLayer
	err := queryEach(ctx, db.r, `SELECT ml.position, l.id, l.first_entry, l.last_entry
		FROM manifests m
		JOIN manifest_layers ml ON ml.manifest_id = m.id
		JOIN layers l ON l.id = ml.layer_id
		WHERE m.digest = ? AND m.indexed_at IS NOT NULL
			AND EXISTS (SELECT 1 FROM repo_manifests rm WHERE rm.manifest_id = m.id)
		ORDER BY ml.position`, []any{image}, func(rows *sql.Rows) error {
		var l imageLayer
		if err := rows.Scan(&l.pos, &l.id, &l.first, &l.last); err != nil {
			return err
		}
		lays = append(lays, l)
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if len(lays) == 0 {
		return nil, nil
	}
	type at struct{ pos, id int64 }
	hidden := map[at]bool{}
	err = queryEach(ctx, db.r, `SELECT h.layer_position, h.entry_id FROM hidden h
		JOIN manifests m ON m.id = h.manifest_id WHERE m.digest = ?`, []any{image}, func(rows *sql.Rows) error {
		var k at
		if err := rows.Scan(&k.pos, &k.id); err != nil {
			return err
		}
		hidden[k] = true
		return nil
	})
	if err != nil {
		return fail(err)
	}
	moved := map[at]keptRow{}
	err = queryEach(ctx, db.r, `SELECT mv.layer_position, mv.entry_id, mp.path, COALESCE(t.type, e.type),
		COALESCE(CASE WHEN t.id IS NULL OR t.type = 0 THEN e.linkname ELSE t.linkname END, ''),
		COALESCE(c.sha256, ''), COALESCE(c.md5, ''), COALESCE(c.sha1, '')
		FROM moved mv
		JOIN manifests m ON m.id = mv.manifest_id
		JOIN entries e ON e.id = mv.entry_id
		JOIN paths mp ON mp.id = mv.path_id
		LEFT JOIN entries t ON t.id = mv.inode_entry_id
		LEFT JOIN contents c ON c.id = COALESCE(t.content_id, e.content_id)
		WHERE m.digest = ?`, []any{image}, func(rows *sql.Rows) error {
		var k at
		var r keptRow
		var typ int64
		if err := rows.Scan(&k.pos, &k.id, &r.f.Path, &typ, &r.f.LinkTarget, &r.f.SHA256, &r.f.MD5, &r.f.SHA1); err != nil {
			return err
		}
		r.f.Type, r.ok = typeOf(entryTypeName(typ))
		moved[k] = r
		return nil
	})
	if err != nil {
		return fail(err)
	}
	rows := make([][]keptRow, len(lays))
	n := 0
	for i, l := range lays {
		kept, err := db.layerVisibleRows(ctx, l.id, l.first, l.last)
		if err != nil {
			return fail(err)
		}
		rows[i] = kept
		n += len(kept)
	}
	out := make([]auditor.VisibleFile, 0, n)
	var replaced replacedFiles
	for i, l := range lays {
		for _, r := range rows[i] {
			k := at{l.pos, r.id}
			if m, ok := moved[k]; ok {
				r = m
			}
			switch {
			case !r.ok:
			case hidden[k]:
				replaced.add(r.f)
			default:
				out = append(out, r.f)
			}
		}
	}
	replaced.attach(out)
	return out, nil
}

// replacedFiles are the digests of the hidden regular files of an image, by
// the path they landed at, for VisibleFile.Replaced.
type replacedFiles map[string][]auditor.ContentDigests

// add keeps f's digests, when f is a hidden regular file with an md5 or sha1.
func (r *replacedFiles) add(f auditor.VisibleFile) {
	if f.Type != auditor.TypeFile || f.MD5 == "" && f.SHA1 == "" {
		return
	}
	if *r == nil {
		*r = replacedFiles{}
	}
	d := auditor.ContentDigests{SHA256: f.SHA256, MD5: f.MD5, SHA1: f.SHA1}
	if !slices.Contains((*r)[f.Path], d) {
		(*r)[f.Path] = append((*r)[f.Path], d)
	}
}

// attach gives each visible file the digests of those it replaced.
func (r replacedFiles) attach(visible []auditor.VisibleFile) {
	if len(r) == 0 {
		return
	}
	for _, ds := range r {
		slices.SortFunc(ds, func(a, b auditor.ContentDigests) int { return strings.Compare(a.SHA256, b.SHA256) })
	}
	for i := range visible {
		visible[i].Replaced = r[visible[i].Path]
	}
}

// layerVisibleRows are the entries of one layer, from the cache or read (and
// kept).
func (db *DB) layerVisibleRows(ctx context.Context, layer, first, last int64) ([]keptRow, error) {
	db.visMu.Lock()
	c := db.vis
	var k *layerKept
	if c != nil {
		k = c.layers[layer]
	}
	db.visMu.Unlock()
	if k != nil && k.first == first && k.last == last {
		return k.rows, nil
	}
	var rows []keptRow
	err := queryEach(ctx, db.r, `SELECT e.id, p.path, e.type, COALESCE(e.linkname, ''),
		COALESCE(c.sha256, ''), COALESCE(c.md5, ''), COALESCE(c.sha1, '')
		FROM entries e
		JOIN paths p ON p.id = e.path_id
		LEFT JOIN contents c ON c.id = e.content_id
		WHERE e.layer_id = ? AND e.id BETWEEN ? AND ?`, []any{layer, first, last}, func(rs *sql.Rows) error {
		var r keptRow
		var typ int64
		if err := rs.Scan(&r.id, &r.f.Path, &typ, &r.f.LinkTarget, &r.f.SHA256, &r.f.MD5, &r.f.SHA1); err != nil {
			return err
		}
		r.f.Type, r.ok = typeOf(entryTypeName(typ))
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	db.visMu.Lock()
	defer db.visMu.Unlock()
	if c := db.vis; c != nil && len(rows) <= maxCachedRows {
		if c.rows+len(rows) > maxCachedRows {
			c.layers, c.rows = map[int64]*layerKept{}, 0
		}
		c.layers[layer] = &layerKept{first: first, last: last, rows: rows}
		c.rows += len(rows)
	}
	return rows, nil
}

// queryEach runs query and calls each for every row.
func queryEach(ctx context.Context, db *sql.DB, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// QueryVisibleFiles runs query, which selects path, type, linkname, sha256,
// md5, sha1 and visibility of the visible entries of one image (its one
// argument) and of its hidden regular files with an md5 or sha1, and gives
// the visible ones as VisibleFiles, with the hidden ones' digests at their
// path in Replaced, the names through decode when not nil (a back
// end that stores names otherwise than as their bytes). Both back ends'
// VisibleFiles use it.
func QueryVisibleFiles(ctx context.Context, db *sql.DB, query, image string, decode func(string) string) ([]auditor.VisibleFile, error) {
	rows, err := db.QueryContext(ctx, query, image)
	if err != nil {
		return nil, fmt.Errorf("visible files of %s: %w", image, err)
	}
	defer rows.Close()
	var out []auditor.VisibleFile
	var replaced replacedFiles
	for rows.Next() {
		var f auditor.VisibleFile
		var typ string
		var visible bool
		if err := rows.Scan(&f.Path, &typ, &f.LinkTarget, &f.SHA256, &f.MD5, &f.SHA1, &visible); err != nil {
			return nil, fmt.Errorf("visible files of %s: %w", image, err)
		}
		var ok bool
		if f.Type, ok = typeOf(typ); ok {
			if decode != nil {
				f.Path, f.LinkTarget = decode(f.Path), decode(f.LinkTarget)
			}
			if !visible {
				replaced.add(f)
				continue
			}
			out = append(out, f)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("visible files of %s: %w", image, err)
	}
	replaced.attach(out)
	return out, nil
}

// DatabaseFiles are the captured entries of the image's layers. Like
// VisibleFiles it reads the tables under the views (package_db_files and
// image_files), from the image's captured entries: not a pass over all of
// the image's entries.
func (db *DB) DatabaseFiles(ctx context.Context, image string) ([]auditor.CapturedFile, error) {
	return QueryDatabaseFiles(ctx, db.r, `SELECT COALESCE(mp.path, p.path), p.path, ml.position,
		CASE WHEN h.how IN (1, 2) THEN h.hidden_by_position ELSE -1 END, h.entry_id IS NULL, c.sha256, l.digest
		FROM manifests m
		JOIN manifest_layers ml ON ml.manifest_id = m.id
		JOIN layers l ON l.id = ml.layer_id
		JOIN captured_entries x ON x.layer_id = l.id
		JOIN entries e ON e.id = x.entry_id
		JOIN paths p ON p.id = e.path_id
		JOIN contents c ON c.id = e.content_id
		JOIN content_blobs b ON b.content_id = e.content_id
		LEFT JOIN hidden h ON h.manifest_id = ml.manifest_id AND h.layer_position = ml.position AND h.entry_id = e.id
		LEFT JOIN moved mv ON mv.manifest_id = ml.manifest_id AND mv.layer_position = ml.position AND mv.entry_id = e.id
		LEFT JOIN paths mp ON mp.id = mv.path_id
		WHERE m.digest = ? AND m.indexed_at IS NOT NULL
			AND EXISTS (SELECT 1 FROM repo_manifests rm WHERE rm.manifest_id = m.id)`, image, nil)
}

// QueryDatabaseFiles runs query, which selects the landing path, entry
// name, layer position, deleting layer (-1 for none), visibility, sha256
// and layer digest of the captured entries of one image (its one argument), and gives them
// as CapturedFiles, the names through decode when not nil. Both back ends'
// DatabaseFiles use it.
func QueryDatabaseFiles(ctx context.Context, db *sql.DB, query, image string, decode func(string) string) ([]auditor.CapturedFile, error) {
	rows, err := db.QueryContext(ctx, query, image)
	if err != nil {
		return nil, fmt.Errorf("package database files of %s: %w", image, err)
	}
	defer rows.Close()
	var out []auditor.CapturedFile
	for rows.Next() {
		var f auditor.CapturedFile
		if err := rows.Scan(&f.Path, &f.Name, &f.Position, &f.HiddenBy, &f.Visible, &f.SHA256, &f.Layer); err != nil {
			return nil, fmt.Errorf("package database files of %s: %w", image, err)
		}
		if decode != nil {
			f.Path, f.Name = decode(f.Path), decode(f.Name)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// PackagesPending lists the indexed images not resolved by this version.
func (db *DB) PackagesPending(ctx context.Context, version string) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT m.digest FROM manifests m
		LEFT JOIN image_package_state s ON s.manifest_id = m.id
		WHERE m.is_index = 0 AND m.indexed_at IS NOT NULL AND (s.version IS NULL OR s.version != ?)
		ORDER BY m.digest`, version)
	if err != nil {
		return nil, fmt.Errorf("images without packages: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// PutPackages replaces the image's packages with r, resolved by version.
func (db *DB) PutPackages(ctx context.Context, image, version string, r *auditor.ImagePackages) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM manifests WHERE digest = ?`, image).Scan(&id); err != nil {
			return fmt.Errorf("image %s: %w", image, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM image_packages WHERE manifest_id = ?`, id); err != nil {
			return err
		}
		var oldFiles, oldOwners sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT files_set, owners_set FROM image_package_state WHERE manifest_id = ?`, id).
			Scan(&oldFiles, &oldOwners); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := insertEach(ctx, tx, `INSERT INTO image_packages (manifest_id, manager, name, version, architecture,
			source_name, source_version, layer_position, records_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			len(r.Packages), func(i int) []any {
				p := r.Packages[i]
				return []any{id, p.Manager, p.Name, p.Version, p.Architecture, p.SourceName, p.SourceVersion, p.LayerPosition, p.RecordsDigest}
			}); err != nil {
			return err
		}
		filesSet, ownersSet, err := putPackageSets(ctx, tx, slices.Clone(r.Files), slices.Clone(r.Owners))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE manifests SET os_id = ?, os_version_id = ?, os_pretty_name = ? WHERE id = ?`,
			nullStr(r.OS.ID), nullStr(r.OS.VersionID), nullStr(r.OS.PrettyName), id); err != nil {
			return err
		}
		var msg any
		if r.Err != nil {
			msg = r.Err.Error()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO image_package_state (manifest_id, version, computed_at, error, files_set, owners_set)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (manifest_id) DO UPDATE SET version = excluded.version, computed_at = excluded.computed_at, error = excluded.error,
				files_set = excluded.files_set, owners_set = excluded.owners_set`,
			id, version, db.now(), msg, filesSet, ownersSet); err != nil {
			return err
		}
		return dropUnusedSets(ctx, tx, oldFiles, oldOwners)
	})
}

// SharePackages keeps for image the packages kept for the image like,
// resolved by version (imagepkg.Sharer: an update found that both images
// resolve alike): its package rows copied, its sets, os-release and error
// the same, without the sets' rows hashed or looked up again.
func (db *DB) SharePackages(ctx context.Context, image, like, version string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var id, likeID int64
		for _, m := range []struct {
			digest string
			id     *int64
		}{{image, &id}, {like, &likeID}} {
			if err := tx.QueryRowContext(ctx, `SELECT id FROM manifests WHERE digest = ?`, m.digest).Scan(m.id); err != nil {
				return fmt.Errorf("image %s: %w", m.digest, err)
			}
		}
		var oldFiles, oldOwners sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT files_set, owners_set FROM image_package_state WHERE manifest_id = ?`, id).
			Scan(&oldFiles, &oldOwners); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var kept string
		if err := tx.QueryRowContext(ctx, `SELECT version FROM image_package_state WHERE manifest_id = ?`, likeID).Scan(&kept); err != nil {
			return fmt.Errorf("packages of %s: %w", like, err)
		}
		if kept != version {
			return fmt.Errorf("packages of %s: kept by version %q, not %q", like, kept, version)
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`DELETE FROM image_packages WHERE manifest_id = ?`, []any{id}},
			{
				`INSERT INTO image_packages (manifest_id, manager, name, version, architecture, source_name, source_version, layer_position, records_digest)
				SELECT ?1, manager, name, version, architecture, source_name, source_version, layer_position, records_digest
				FROM image_packages WHERE manifest_id = ?2 ORDER BY rowid`, []any{id, likeID}},
			{`UPDATE manifests SET (os_id, os_version_id, os_pretty_name) =
				(SELECT os_id, os_version_id, os_pretty_name FROM manifests WHERE id = ?2) WHERE id = ?1`, []any{id, likeID}},
			{`INSERT INTO image_package_state (manifest_id, version, computed_at, error, files_set, owners_set)
				SELECT ?1, version, ?3, error, files_set, owners_set FROM image_package_state WHERE manifest_id = ?2
				ON CONFLICT (manifest_id) DO UPDATE SET version = excluded.version, computed_at = excluded.computed_at, error = excluded.error,
					files_set = excluded.files_set, owners_set = excluded.owners_set`, []any{id, likeID, db.now()}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return fmt.Errorf("packages of %s like %s: %w", image, like, err)
			}
		}
		return dropUnusedSets(ctx, tx, oldFiles, oldOwners)
	})
}

// insertEach runs one prepared insert n times, with the arguments args(i).
func insertEach(ctx context.Context, tx *sql.Tx, query string, n int, args func(int) []any) error {
	if n == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := 0; i < n; i++ {
		if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
			return err
		}
	}
	return nil
}
