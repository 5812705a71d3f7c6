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
// crawler reads it again, and PutLayer then stores only its content matches
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

// putContent stores l's content matches, replacing those of an older pattern
// version, and records the version. It does nothing when l was not matched
// (ContentVersion "") or is already recorded with this version. The layer's
// entries must be stored already, in the same tar order as l.Entries.
func putContent(ctx context.Context, tx *sql.Tx, l *Layer, now string) error {
	if l.ContentVersion == "" {
		return nil
	}
	var id, first, n int64
	var have sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT l.id, l.first_entry, l.entries, c.version FROM layers l
		LEFT JOIN content_checks c ON c.layer_id = l.id WHERE l.digest = ?`, l.Digest).Scan(&id, &first, &n, &have)
	if err != nil {
		return fmt.Errorf("content matches: %w", err)
	}
	if have.Valid && have.String == l.ContentVersion {
		return nil
	}
	if n != int64(len(l.Entries)) {
		return fmt.Errorf("content matches: layer read with %d entries, but %d are indexed", len(l.Entries), n)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM content_hits WHERE layer_id = ?`, id); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO content_hits (layer_id, entry_id, pattern_id, "offset", excerpt)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, m := range l.ContentMatches {
		if m.Seq < 0 || m.Seq >= len(l.Entries) {
			return fmt.Errorf("content match %s: no entry %d", m.PatternID, m.Seq)
		}
		if _, err := stmt.ExecContext(ctx, id, first+int64(m.Seq), m.PatternID, m.Offset, m.Excerpt); err != nil {
			return fmt.Errorf("content match %s in %q: %w", m.PatternID, l.Entries[m.Seq].Path, err)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO content_checks (layer_id, version, checked_at) VALUES (?, ?, ?)
		ON CONFLICT (layer_id) DO UPDATE SET version = excluded.version, checked_at = excluded.checked_at`,
		id, l.ContentVersion, now)
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
