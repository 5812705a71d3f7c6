package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

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
// md5 and sha1 of their contents when the index has them.
func (db *DB) VisibleFiles(ctx context.Context, image string) ([]auditor.VisibleFile, error) {
	return QueryVisibleFiles(ctx, db.r, `SELECT DISTINCT f.path, f.type, COALESCE(f.linkname, ''), COALESCE(f.sha256, ''),
		COALESCE(c.md5, ''), COALESCE(c.sha1, '')
		FROM image_files f LEFT JOIN contents c ON c.sha256 = f.sha256
		WHERE f.image_digest = ? AND f.visible`, image, nil)
}

// QueryVisibleFiles runs query, which selects path, type, linkname, sha256,
// md5 and sha1 of the visible entries of one image (its one argument), and
// gives them as VisibleFiles, the names through decode when not nil (a back
// end that stores names otherwise than as their bytes). Both back ends'
// VisibleFiles use it.
func QueryVisibleFiles(ctx context.Context, db *sql.DB, query, image string, decode func(string) string) ([]auditor.VisibleFile, error) {
	rows, err := db.QueryContext(ctx, query, image)
	if err != nil {
		return nil, fmt.Errorf("visible files of %s: %w", image, err)
	}
	defer rows.Close()
	var out []auditor.VisibleFile
	for rows.Next() {
		var f auditor.VisibleFile
		var typ string
		if err := rows.Scan(&f.Path, &typ, &f.LinkTarget, &f.SHA256, &f.MD5, &f.SHA1); err != nil {
			return nil, fmt.Errorf("visible files of %s: %w", image, err)
		}
		var ok bool
		if f.Type, ok = typeOf(typ); ok {
			if decode != nil {
				f.Path, f.LinkTarget = decode(f.Path), decode(f.LinkTarget)
			}
			out = append(out, f)
		}
	}
	return out, rows.Err()
}

// DatabaseFiles are the captured entries of the image's layers.
func (db *DB) DatabaseFiles(ctx context.Context, image string) ([]auditor.CapturedFile, error) {
	return QueryDatabaseFiles(ctx, db.r, `SELECT DISTINCT f.path, d.path, f.layer_position,
		CASE WHEN f.hidden_how IN ('deleted', 'opaque') THEN f.hidden_by_position ELSE -1 END, f.visible, d.sha256, f.layer_digest
		FROM image_files f JOIN package_db_files d ON d.layer_digest = f.layer_digest AND d.seq = f.seq
		WHERE f.image_digest = ?`, image, nil)
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
