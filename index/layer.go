package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/auditor-dev/auditor/crawl"
)

// HasLayer reports whether the layer blob with this digest is fully indexed
// by the current reader version and read by every scanner SetScanners set,
// at its version.
func (db *DB) HasLayer(ctx context.Context, digest string) (bool, error) {
	var id int64
	var v int
	err := db.r.QueryRowContext(ctx, `SELECT id, reader_version FROM layers WHERE digest = ?`, digest).Scan(&id, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("layer %s: %w", digest, err)
	}
	if v < ReaderVersion {
		return false, nil
	}
	stale, err := db.staleScanners(ctx, id)
	if err != nil {
		return false, fmt.Errorf("layer %s: %w", digest, err)
	}
	return len(stale) == 0, nil
}

// LayerByDiffID returns the digest of a layer indexed by the current reader
// (and read by the scanners set) whose uncompressed tar has this diff_id, or
// "" when there is none.
func (db *DB) LayerByDiffID(ctx context.Context, diffID string) (string, error) {
	var d string
	err := db.r.QueryRowContext(ctx, `SELECT digest FROM layers WHERE diff_id = ? AND reader_version >= ? ORDER BY id LIMIT 1`, diffID, ReaderVersion).Scan(&d)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("layer with diff_id %s: %w", diffID, err)
	}
	// A layer not read by the current scanners does not stand in: the
	// caller reads its own copy.
	if ok, err := db.layerScanned(ctx, d); err != nil || !ok {
		return "", err
	}
	return d, nil
}

// PutLayer stores a layer held whole in memory, with its content matches,
// in one transaction: after it returns nil, HasLayer(l.Digest) is true and
// every entry is in the files view; after an error or a crash, nothing of
// the layer is stored. A layer already indexed by this reader version keeps
// its entries (only what its scanners found is stored). Readers of large layers
// stream through BeginLayer instead.
func (db *DB) PutLayer(ctx context.Context, l *Layer) error {
	w, err := db.beginLayer(ctx, l.Digest, max(1, int64(len(l.Entries))))
	if err != nil {
		return err
	}
	defer w.Abort(ctx)
	w.chunk = len(l.Entries) + 1 // the memory is spent already: one transaction
	w.buf = make([]Entry, 0, len(l.Entries))
	return crawl.WriteLayer(ctx, w, l)
}

// dropLayer removes a layer indexed by an older reader, and marks the images
// that use it as not indexed, so the scan rebuilds them.
func dropLayer(ctx context.Context, tx *sql.Tx, id int64) error {
	for _, q := range []string{
		`UPDATE manifests SET indexed_at = NULL WHERE id IN (SELECT manifest_id FROM manifest_layers WHERE layer_id = ?1)`,
		`DELETE FROM hidden WHERE manifest_id IN (SELECT manifest_id FROM manifest_layers WHERE layer_id = ?1)`,
		`DELETE FROM moved WHERE manifest_id IN (SELECT manifest_id FROM manifest_layers WHERE layer_id = ?1)`,
		`DELETE FROM manifest_layers WHERE layer_id = ?1`,
		`DELETE FROM entries WHERE id BETWEEN (SELECT first_entry FROM layers WHERE id = ?1) AND (SELECT last_entry FROM layers WHERE id = ?1)`,
		`DELETE FROM layers WHERE id = ?1`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}

// entryColumns are the entries columns a layer writer writes, in order.
const entryColumns = 16

// entryBatch is how many entries one INSERT writes; SQLite allows 32766
// parameters per statement.
const entryBatch = 256

// internBatch is how many keys one interning statement looks up or inserts.
const internBatch = 512

// insertEntries is an INSERT of n entry rows. OR IGNORE (with the caller
// checking that all n rows were stored) spares SQLite a statement journal:
// a multi-row INSERT that could abort half-way must first copy every page it
// changes to a temporary file, so that it can undo itself.
func insertEntries(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR IGNORE INTO entries (id, layer_id, path_id, raw_name, type, mode, uid, gid, uname, gname, size, mtime, content_id, linkname, kind, capabilities) VALUES `)
	row := "(" + strings.Repeat("?,", entryColumns-1) + "?)"
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
