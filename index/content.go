package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SetContentVersion sets the version of the content patterns the current
// scan matches files with ("" for none). While it is set, HasLayer reports
// false for a layer whose files were not matched with this version, so the
// crawler reads it again, and the layer writer then stores only its content matches
// (its entries are already indexed and are not written twice).
func (db *DB) SetContentVersion(v string) { db.contentVersion.Store(&v) }

// ContentVersion returns what SetContentVersion set.
func (db *DB) ContentVersion() string {
	if p := db.contentVersion.Load(); p != nil {
		return *p
	}
	return ""
}

// contentChecked reports whether the layer's files were matched with the
// content version set, or none is set.
func (db *DB) contentChecked(ctx context.Context, digest string) (bool, error) {
	want := db.ContentVersion()
	if want == "" {
		return true, nil
	}
	var have string
	err := db.r.QueryRowContext(ctx, `SELECT c.version FROM content_checks c JOIN layers l ON l.id = c.layer_id
		WHERE l.digest = ?`, digest).Scan(&have)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("layer %s: content check: %w", digest, err)
	}
	return have == want, nil
}

// putContent stores the content matches of an indexed layer read again for
// its content (n entries, matches numbered by Seq in tar order), replacing
// those of an older pattern version, and records the version. It does
// nothing when the layer was not matched (version "") or is already recorded
// with this version.
func putContent(ctx context.Context, tx *sql.Tx, digest, version string, n int64, matches []ContentMatch, now string) error {
	if version == "" {
		return nil
	}
	var id, first, stored int64
	var have sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT l.id, l.first_entry, l.entries, c.version FROM layers l
		LEFT JOIN content_checks c ON c.layer_id = l.id WHERE l.digest = ?`, digest).Scan(&id, &first, &stored, &have)
	if err != nil {
		return fmt.Errorf("content matches: %w", err)
	}
	if have.Valid && have.String == version {
		return nil
	}
	if n != stored {
		return fmt.Errorf("content matches: layer read with %d entries, but %d are indexed", n, stored)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM content_hits WHERE layer_id = ?`, id); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, insertHit)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, m := range matches {
		if m.Seq < 0 || int64(m.Seq) >= n {
			return fmt.Errorf("content match %s: no entry %d", m.PatternID, m.Seq)
		}
		if _, err := stmt.ExecContext(ctx, id, first+int64(m.Seq), m.PatternID, m.Offset, m.Excerpt); err != nil {
			return fmt.Errorf("content match %s in entry %d: %w", m.PatternID, m.Seq, err)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO content_checks (layer_id, version, checked_at) VALUES (?, ?, ?)
		ON CONFLICT (layer_id) DO UPDATE SET version = excluded.version, checked_at = excluded.checked_at`,
		id, version, now)
	return err
}

// manifestContentChecked reports whether every layer of an indexed image
// manifest was matched with the content version set (true when none is).
func (db *DB) manifestContentChecked(ctx context.Context, manifestID int64) (bool, error) {
	want := db.ContentVersion()
	if want == "" {
		return true, nil
	}
	var missing bool
	err := db.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM manifest_layers ml
		LEFT JOIN content_checks c ON c.layer_id = ml.layer_id AND c.version = ?
		WHERE ml.manifest_id = ? AND c.layer_id IS NULL)`, want, manifestID).Scan(&missing)
	if err != nil {
		return false, fmt.Errorf("manifest %d: content check: %w", manifestID, err)
	}
	return !missing, nil
}
