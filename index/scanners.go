package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// SetScanners sets the per-layer scanners of the current scan, with their
// versions (the crawler sets them from its options). While they are set,
// HasLayer reports false for a layer that one of them did not read at its
// version, so the crawler reads it again, and the layer writer then stores
// only what those scanners found (its entries are indexed already and are
// not written twice).
func (db *DB) SetScanners(vs []ScannerVersion) {
	vs = slices.Clone(vs)
	db.scanners.Store(&vs)
}

// Scanners returns what SetScanners set.
func (db *DB) Scanners() []ScannerVersion {
	if p := db.scanners.Load(); p != nil {
		return *p
	}
	return nil
}

// staleScanners returns the names of the scanners set that did not read the
// indexed layer with this id at their current version.
func (db *DB) staleScanners(ctx context.Context, layerID int64) ([]string, error) {
	var stale []string
	for _, s := range db.Scanners() {
		var have string
		err := db.r.QueryRowContext(ctx, `SELECT version FROM layer_scanners WHERE layer_id = ? AND scanner = ?`, layerID, s.Name).Scan(&have)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("scanner %s: %w", s.Name, err)
		}
		if have != s.Version {
			stale = append(stale, s.Name)
		}
	}
	return stale, nil
}

// layerScanned reports whether every scanner set read the layer with this
// digest at its current version (true when none is set).
func (db *DB) layerScanned(ctx context.Context, digest string) (bool, error) {
	if len(db.Scanners()) == 0 {
		return true, nil
	}
	var id int64
	if err := db.r.QueryRowContext(ctx, `SELECT id FROM layers WHERE digest = ?`, digest).Scan(&id); err != nil {
		return false, fmt.Errorf("layer %s: %w", digest, err)
	}
	stale, err := db.staleScanners(ctx, id)
	if err != nil {
		return false, fmt.Errorf("layer %s: %w", digest, err)
	}
	return len(stale) == 0, nil
}

// manifestScanned reports whether every layer of an indexed image manifest
// was read by every scanner set at its current version (true when none is).
func (db *DB) manifestScanned(ctx context.Context, manifestID int64) (bool, error) {
	for _, s := range db.Scanners() {
		var missing bool
		err := db.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM manifest_layers ml
			LEFT JOIN layer_scanners c ON c.layer_id = ml.layer_id AND c.scanner = ? AND c.version = ?
			WHERE ml.manifest_id = ? AND c.layer_id IS NULL)`, s.Name, s.Version, manifestID).Scan(&missing)
		if err != nil {
			return false, fmt.Errorf("manifest %d: scanner %s: %w", manifestID, s.Name, err)
		}
		if missing {
			return false, nil
		}
	}
	return true, nil
}

// putScans records, in tx, that the scans read the layer with this id.
func putScans(ctx context.Context, tx *sql.Tx, layerID int64, scans []LayerScan, now string) error {
	for _, s := range scans {
		_, err := tx.ExecContext(ctx, `INSERT INTO layer_scanners (layer_id, scanner, version, scanned_at, error) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (layer_id, scanner) DO UPDATE SET version = excluded.version, scanned_at = excluded.scanned_at, error = excluded.error`,
			layerID, s.Scanner, s.Version, now, nullStr(s.Error))
		if err != nil {
			return fmt.Errorf("scanner %s: %w", s.Scanner, err)
		}
	}
	return nil
}

// putRescan stores what the scans found in an indexed layer read again for
// them (n entries; content matches and configuration files numbered by Seq
// in tar order), replacing
// what older versions of the same scanners found, and records the scans.
// Scans already recorded at their version (by another writer meanwhile)
// are left as they are.
func putRescan(ctx context.Context, tx *sql.Tx, digest string, n int64, scans []LayerScan, matches []ContentMatch, dropped []ContentDrop, configs []ConfigFile,
	caps []capture, digests map[string]ContentDigests, now string) error {
	var id, first, stored int64
	err := tx.QueryRowContext(ctx, `SELECT id, first_entry, entries FROM layers WHERE digest = ?`, digest).Scan(&id, &first, &stored)
	if err != nil {
		return fmt.Errorf("layer read again for its scanners: %w", err)
	}
	var todo []LayerScan
	for _, s := range scans {
		var have string
		err := tx.QueryRowContext(ctx, `SELECT version FROM layer_scanners WHERE layer_id = ? AND scanner = ?`, id, s.Scanner).Scan(&have)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("scanner %s: %w", s.Scanner, err)
		}
		if have != s.Version {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if n != stored {
		return fmt.Errorf("layer read again with %d entries, but %d are indexed", n, stored)
	}
	if slices.ContainsFunc(todo, func(s LayerScan) bool { return s.Scanner == ContentScanner }) {
		if err := replaceMatches(ctx, tx, id, first, n, matches, dropped); err != nil {
			return err
		}
	}
	if slices.ContainsFunc(todo, func(s LayerScan) bool { return s.Scanner == ConfigScanner }) {
		if err := putConfigs(ctx, tx, id, first, n, configs); err != nil {
			return err
		}
	}
	if err := putCaptures(ctx, tx, id, first, n, caps, digests); err != nil {
		return err
	}
	return putScans(ctx, tx, id, todo, now)
}

// replaceMatches replaces the content matches of an indexed layer (n
// entries from entry id first), and the counts of those not recorded.
func replaceMatches(ctx context.Context, tx *sql.Tx, layerID, first, n int64, matches []ContentMatch, dropped []ContentDrop) error {
	for _, q := range []string{`DELETE FROM content_hits WHERE layer_id = ?`, `DELETE FROM content_dropped WHERE layer_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, layerID); err != nil {
			return fmt.Errorf("content matches: %w", err)
		}
	}
	if err := putDropped(ctx, tx, layerID, first, n, dropped); err != nil {
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
		if _, err := stmt.ExecContext(ctx, layerID, first+int64(m.Seq), m.PatternID, m.Offset, m.Excerpt); err != nil {
			return fmt.Errorf("content match %s in entry %d: %w", m.PatternID, m.Seq, err)
		}
	}
	return nil
}

// putDropped stores the counts of content matches not recorded, in the
// layer with this id (n entries from entry id first).
func putDropped(ctx context.Context, tx *sql.Tx, layerID, first, n int64, dropped []ContentDrop) error {
	for _, d := range dropped {
		if d.Seq < 0 || int64(d.Seq) >= n {
			return fmt.Errorf("content matches not recorded: no entry %d", d.Seq)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO content_dropped (layer_id, entry_id, dropped) VALUES (?, ?, ?)
			ON CONFLICT DO UPDATE SET dropped = dropped + excluded.dropped`, layerID, first+int64(d.Seq), d.Dropped); err != nil {
			return fmt.Errorf("content matches not recorded in entry %d: %w", d.Seq, err)
		}
	}
	return nil
}
