package index

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"

	"github.com/auditor-dev/auditor"
)

// An image's package file records and file owners are stored as sets
// shared by the images that resolve to the same rows (migration 0023):
// images on one base hold the same thousands of records, which per image
// were most of the index.

// putPackageSets stores the image's file records and owners as sets (each
// found by its digest, or inserted with its rows) and returns their ids,
// NULL for an empty one. files and owners are sorted in place.
func putPackageSets(ctx context.Context, tx *sql.Tx, files []auditor.PackageFile, owners []auditor.PathOwner) (filesSet, ownersSet sql.NullInt64, err error) {
	slices.SortFunc(files, comparePackageFiles)
	slices.SortFunc(owners, func(a, b auditor.PathOwner) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Packages, b.Packages))
	})
	if len(files) > 0 {
		h := setHasher("files")
		for _, f := range files {
			h.fields(f.Package, f.Path, f.RecordedPath, f.Algorithm, f.Expected, f.Actual, f.Status)
		}
		filesSet, err = putSet(ctx, tx, h.sum(), func(id int64) error {
			return insertEach(ctx, tx, `INSERT INTO package_set_files (set_id, path, seq, package, recorded_path,
				algorithm, expected, actual, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				len(files), func(i int) []any {
					f := files[i]
					return []any{id, f.Path, i, f.Package, unlessSame(f.RecordedPath, f.Path),
						f.Algorithm, f.Expected, unlessSame(f.Actual, f.Expected), f.Status}
				})
		})
		if err != nil {
			return filesSet, ownersSet, fmt.Errorf("package files: %w", err)
		}
	}
	if len(owners) > 0 {
		h := setHasher("owners")
		for _, o := range owners {
			h.fields(o.Path, o.Packages)
		}
		ownersSet, err = putSet(ctx, tx, h.sum(), func(id int64) error {
			return insertEach(ctx, tx, `INSERT INTO package_set_owners (set_id, path, packages) VALUES (?, ?, ?)`,
				len(owners), func(i int) []any { return []any{id, owners[i].Path, owners[i].Packages} })
		})
		if err != nil {
			return filesSet, ownersSet, fmt.Errorf("file owners: %w", err)
		}
	}
	return filesSet, ownersSet, nil
}

func comparePackageFiles(a, b auditor.PackageFile) int {
	return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Package, b.Package),
		cmp.Compare(a.RecordedPath, b.RecordedPath), cmp.Compare(a.Algorithm, b.Algorithm),
		cmp.Compare(a.Expected, b.Expected), cmp.Compare(a.Actual, b.Actual), cmp.Compare(a.Status, b.Status))
}

// unlessSame is v, or NULL when it equals base (the views give base back).
func unlessSame(v, base string) any {
	if v == base {
		return nil
	}
	return v
}

// putSet returns the id of the set with this digest, inserting it (and its
// rows, by insert) when the index has none.
func putSet(ctx context.Context, tx *sql.Tx, digest []byte, insert func(id int64) error) (sql.NullInt64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM package_sets WHERE digest = ?`, digest).Scan(&id)
	if err == nil {
		return sql.NullInt64{Int64: id, Valid: true}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return sql.NullInt64{}, err
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO package_sets (digest) VALUES (?) RETURNING id`, digest).Scan(&id); err != nil {
		return sql.NullInt64{}, err
	}
	if err := insert(id); err != nil {
		return sql.NullInt64{}, err
	}
	return sql.NullInt64{Int64: id, Valid: true}, nil
}

// dropUnusedSets deletes, of the sets ids, those no image names any more,
// with their rows.
func dropUnusedSets(ctx context.Context, tx *sql.Tx, ids ...sql.NullInt64) error {
	for _, id := range ids {
		if !id.Valid {
			continue
		}
		var used bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM image_package_state WHERE files_set = ?1)
			OR EXISTS (SELECT 1 FROM image_package_state WHERE owners_set = ?1)`, id.Int64).Scan(&used); err != nil {
			return err
		}
		if used {
			continue
		}
		for _, q := range []string{`DELETE FROM package_set_files WHERE set_id = ?`,
			`DELETE FROM package_set_owners WHERE set_id = ?`, `DELETE FROM package_sets WHERE id = ?`} {
			if _, err := tx.ExecContext(ctx, q, id.Int64); err != nil {
				return err
			}
		}
	}
	return nil
}

// hasher is a set's digest: its kind, then every field of every row, each
// length-prefixed so that no two different sets hash the same bytes.
type hasher struct {
	hash.Hash
	buf [binary.MaxVarintLen64]byte
}

func setHasher(kind string) *hasher {
	h := &hasher{Hash: sha256.New()}
	h.fields(kind)
	return h
}

func (h *hasher) fields(fs ...string) {
	for _, f := range fs {
		n := binary.PutUvarint(h.buf[:], uint64(len(f)))
		h.Write(h.buf[:n])
		h.Write([]byte(f))
	}
}

func (h *hasher) sum() []byte { return h.Sum(nil) }

// convertPackageSets is migration 0023's step: it moves each image's rows
// of image_package_files and image_file_owners into sets, then drops both
// tables.
func convertPackageSets(ctx context.Context, tx *sql.Tx) error {
	var images []int64
	rows, err := tx.QueryContext(ctx, `SELECT manifest_id FROM image_package_state
		UNION SELECT manifest_id FROM image_package_files UNION SELECT manifest_id FROM image_file_owners`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		images = append(images, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, id := range images {
		var files []auditor.PackageFile
		var owners []auditor.PathOwner
		if err := scanAll(ctx, tx, `SELECT package, path, recorded_path, algorithm, expected, actual, status
			FROM image_package_files WHERE manifest_id = ?`, id, func(rs *sql.Rows) error {
			var f auditor.PackageFile
			err := rs.Scan(&f.Package, &f.Path, &f.RecordedPath, &f.Algorithm, &f.Expected, &f.Actual, &f.Status)
			files = append(files, f)
			return err
		}); err != nil {
			return err
		}
		if err := scanAll(ctx, tx, `SELECT path, packages FROM image_file_owners WHERE manifest_id = ?`, id, func(rs *sql.Rows) error {
			var o auditor.PathOwner
			err := rs.Scan(&o.Path, &o.Packages)
			owners = append(owners, o)
			return err
		}); err != nil {
			return err
		}
		fs, os, err := putPackageSets(ctx, tx, files, owners)
		if err != nil {
			return err
		}
		// An image with rows but no state row cannot come from PutPackages;
		// it keeps its rows, resolved by no version (so resolved again).
		if _, err := tx.ExecContext(ctx, `INSERT INTO image_package_state (manifest_id, version, computed_at, files_set, owners_set)
			VALUES (?, '', '', ?, ?) ON CONFLICT (manifest_id) DO UPDATE SET files_set = excluded.files_set, owners_set = excluded.owners_set`,
			id, fs, os); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DROP TABLE image_package_files; DROP TABLE image_file_owners`)
	return err
}

// scanAll runs query with arg and calls scan for each row.
func scanAll(ctx context.Context, tx *sql.Tx, query string, arg any, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
