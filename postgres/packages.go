package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
)

// The back end keeps each image's packages as the SQLite index does
// (index/packages.go; it is an imagepkg.Store): the tables of migration
// 0003 behind the packages and package_files views, the package column of
// image_files and the os columns of images. Every name read is given back
// as its bytes (Bytes), every name written stored through Text.

// VisibleFiles are the visible entries of the image's merged view, with the
// md5 and sha1 of their contents when the database has them, and those of
// the regular files they replaced (VisibleFile.Replaced).
func (db *DB) VisibleFiles(ctx context.Context, image string) ([]auditor.VisibleFile, error) {
	return index.QueryVisibleFiles(ctx, db.r, `SELECT DISTINCT f.path, f.type, COALESCE(f.linkname, ''), COALESCE(f.sha256, ''),
		COALESCE(c.md5, ''), COALESCE(c.sha1, ''), f.visible
		FROM image_files f LEFT JOIN contents c ON c.sha256 = f.sha256
		WHERE f.image_digest = $1
			AND (f.visible OR f.type IN ('file', 'hardlink') AND (c.md5 IS NOT NULL OR c.sha1 IS NOT NULL))`, image, Bytes)
}

// DatabaseFiles are the captured entries of the image's layers.
func (db *DB) DatabaseFiles(ctx context.Context, image string) ([]auditor.CapturedFile, error) {
	return index.QueryDatabaseFiles(ctx, db.r, `SELECT DISTINCT f.path, d.path, f.layer_position,
		CASE WHEN f.hidden_how IN ('deleted', 'opaque') THEN f.hidden_by_position ELSE -1 END, f.visible, d.sha256, f.layer_digest
		FROM image_files f JOIN package_db_files d ON d.layer_digest = f.layer_digest AND d.seq = f.seq
		WHERE f.image_digest = $1`, image, Bytes)
}

// Capture returns the bytes of a captured content (a package database
// file), by sha256; at most maxSize bytes.
func (db *DB) Capture(ctx context.Context, sha string, maxSize int64) ([]byte, error) {
	var size int64
	var compression string
	var data []byte
	err := db.pool.QueryRow(ctx, `SELECT b.size, b.compression, b.data FROM content_blobs b JOIN contents c ON c.id = b.content_id
		WHERE c.sha256 = $1`, sha).Scan(&size, &compression, &data)
	if noRows(err) {
		return nil, fmt.Errorf("%s: %w", sha, index.ErrNoCapture)
	}
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", sha, err)
	}
	return index.DecodeCapture(sha, size, compression, data, maxSize)
}

// PackagesPending lists the indexed images not resolved by this version.
func (db *DB) PackagesPending(ctx context.Context, version string) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT m.digest FROM manifests m
		LEFT JOIN image_package_state s ON s.manifest_id = m.id
		WHERE NOT m.is_index AND m.indexed_at IS NOT NULL AND (s.version IS NULL OR s.version <> $1)
		ORDER BY m.digest`, version)
	if err != nil {
		return nil, fmt.Errorf("images without packages: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("images without packages: %w", err)
	}
	return out, nil
}

// PutPackages replaces the image's packages with r, resolved by version,
// in one transaction (the rows by COPY).
func (db *DB) PutPackages(ctx context.Context, image, version string, r *auditor.ImagePackages) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM manifests WHERE digest = $1`, image).Scan(&id); err != nil {
			return fmt.Errorf("image %s: %w", image, err)
		}
		// Two scans resolving one image at once write it one after the other.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, packagesLock^id); err != nil {
			return err
		}
		for _, t := range []string{"image_packages", "image_package_files", "image_file_owners"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+t+` WHERE manifest_id = $1`, id); err != nil {
				return err
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"image_packages"},
			[]string{"manifest_id", "manager", "name", "version", "architecture", "source_name", "source_version", "layer_position", "records_digest"},
			pgx.CopyFromSlice(len(r.Packages), func(i int) ([]any, error) {
				p := r.Packages[i]
				return []any{id, Text(p.Manager), Text(p.Name), Text(p.Version), Text(p.Architecture),
					Text(p.SourceName), Text(p.SourceVersion), p.LayerPosition, Text(p.RecordsDigest)}, nil
			})); err != nil {
			return fmt.Errorf("packages of %s: %w", image, err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"image_package_files"},
			[]string{"manifest_id", "package", "path", "recorded_path", "algorithm", "expected", "actual", "status"},
			pgx.CopyFromSlice(len(r.Files), func(i int) ([]any, error) {
				f := r.Files[i]
				return []any{id, Text(f.Package), Text(f.Path), Text(f.RecordedPath), Text(f.Algorithm),
					Text(f.Expected), Text(f.Actual), f.Status}, nil
			})); err != nil {
			return fmt.Errorf("package files of %s: %w", image, err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"image_file_owners"}, []string{"manifest_id", "path", "packages"},
			pgx.CopyFromSlice(len(r.Owners), func(i int) ([]any, error) {
				return []any{id, Text(r.Owners[i].Path), Text(r.Owners[i].Packages)}, nil
			})); err != nil {
			return fmt.Errorf("file owners of %s: %w", image, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE manifests SET os_id = $1, os_version_id = $2, os_pretty_name = $3 WHERE id = $4`,
			nullStr(r.OS.ID), nullStr(r.OS.VersionID), nullStr(r.OS.PrettyName), id); err != nil {
			return err
		}
		var msg any
		if r.Err != nil {
			msg = Text(r.Err.Error())
		}
		_, err := tx.Exec(ctx, `INSERT INTO image_package_state (manifest_id, version, computed_at, error) VALUES ($1, $2, $3, $4)
			ON CONFLICT (manifest_id) DO UPDATE SET version = excluded.version, computed_at = excluded.computed_at, error = excluded.error`,
			id, version, db.now(), msg)
		return err
	})
}

// packagesLock is xored with a manifest id for the advisory lock that
// PutPackages holds on the image.
const packagesLock = 0x706b6773 << 32 // "pkgs"
