package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// HasLayer reports whether the layer blob with this digest is fully indexed
// by the current reader version and, when SetContentVersion set one, its
// files were matched with that content pattern version.
func (db *DB) HasLayer(ctx context.Context, digest string) (bool, error) {
	var v int
	err := db.r.QueryRowContext(ctx, `SELECT reader_version FROM layers WHERE digest = ?`, digest).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("layer %s: %w", digest, err)
	}
	if v < ReaderVersion {
		return false, nil
	}
	return db.contentChecked(ctx, digest)
}

// LayerByDiffID returns the digest of a layer indexed by the current reader
// (and content patterns) whose uncompressed tar has this diff_id, or "" when
// there is none.
func (db *DB) LayerByDiffID(ctx context.Context, diffID string) (string, error) {
	var d string
	err := db.r.QueryRowContext(ctx, `SELECT digest FROM layers WHERE diff_id = ? AND reader_version >= ? ORDER BY id LIMIT 1`, diffID, ReaderVersion).Scan(&d)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("layer with diff_id %s: %w", diffID, err)
	}
	// A layer whose files were not matched with the current content
	// patterns does not stand in: the caller reads its own copy.
	if ok, err := db.contentChecked(ctx, d); err != nil || !ok {
		return "", err
	}
	return d, nil
}

// PutLayer stores a layer and all its entries in one transaction: after it
// returns nil, HasLayer(l.Digest) is true and every entry is in the files
// view; after an error or a crash, nothing of the layer is stored. A layer
// already indexed by this reader version is left as it is.
func (db *DB) PutLayer(ctx context.Context, l *Layer) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	w := newInterner(db)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var id, version int64
		err := tx.QueryRowContext(ctx, `SELECT id, reader_version FROM layers WHERE digest = ?`, l.Digest).Scan(&id, &version)
		switch {
		case err == nil && version >= ReaderVersion:
			return putContent(ctx, tx, l, db.now()) // a re-read for content only
		case err == nil:
			if err := dropLayer(ctx, tx, id); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := insertLayer(ctx, tx, w, l, db.now()); err != nil {
			return err
		}
		return putContent(ctx, tx, l, db.now())
	})
	if err != nil {
		return fmt.Errorf("layer %s: store: %w", l.Digest, err)
	}
	w.commit()
	return nil
}

// dropLayer removes a layer indexed by an older reader, and marks the images
// that use it as not indexed, so the scan rebuilds them.
func dropLayer(ctx context.Context, tx *sql.Tx, id int64) error {
	for _, q := range []string{
		`UPDATE manifests SET indexed_at = NULL WHERE id IN (SELECT manifest_id FROM manifest_layers WHERE layer_id = ?1)`,
		`DELETE FROM hidden WHERE manifest_id IN (SELECT manifest_id FROM manifest_layers WHERE layer_id = ?1)`,
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

// entryColumns are the entries columns PutLayer writes, in order.
const entryColumns = 16

// entryBatch is how many entries one INSERT writes; SQLite allows 32766
// parameters per statement.
const entryBatch = 256

// internBatch is how many keys one interning statement looks up or inserts.
const internBatch = 512

func insertLayer(ctx context.Context, tx *sql.Tx, w *interner, l *Layer, now string) error {
	var first int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM entries`).Scan(&first); err != nil {
		return err
	}
	var lid int64
	err := tx.QueryRowContext(ctx, `INSERT INTO layers
		(digest, diff_id, media_type, compression, size, uncompressed_size, entries, first_entry, last_entry, reader_version, indexed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		l.Digest, nullStr(l.DiffID), nullStr(l.MediaType), l.Compression, l.Size, l.UncompressedSize,
		len(l.Entries), first, first+int64(len(l.Entries))-1, ReaderVersion, now).Scan(&lid)
	if err != nil {
		return err
	}
	// Intern every path and content hash of the layer in a few statements.
	keys := make([]string, 0, len(l.Entries))
	for i := range l.Entries {
		keys = append(keys, l.Entries[i].Path)
	}
	if err := w.internAll(ctx, tx, "paths", "path", keys, w.db.paths, w.paths); err != nil {
		return fmt.Errorf("paths: %w", err)
	}
	keys = keys[:0]
	for i := range l.Entries {
		if l.Entries[i].SHA256 != "" {
			keys = append(keys, l.Entries[i].SHA256)
		}
	}
	if err := w.internAll(ctx, tx, "contents", "sha256", keys, w.db.conts, w.conts); err != nil {
		return fmt.Errorf("contents: %w", err)
	}

	var full *sql.Stmt
	args := make([]any, 0, entryBatch*entryColumns)
	for start := 0; start < len(l.Entries); start += entryBatch {
		end := min(start+entryBatch, len(l.Entries))
		args = args[:0]
		for i := start; i < end; i++ {
			e := &l.Entries[i]
			var cid, mtime, kind any
			if e.SHA256 != "" {
				cid = w.id(e.SHA256, w.db.conts, w.conts)
			}
			if !e.ModTime.IsZero() {
				mtime = e.ModTime.Unix()
			}
			if e.Kind != KindNone {
				kind = int(e.Kind)
			}
			args = append(args, first+int64(i), lid, w.id(e.Path, w.db.paths, w.paths), nullStr(e.RawName), int(e.Type), e.Mode,
				e.UID, e.GID, nullStr(e.Uname), nullStr(e.Gname), e.Size, mtime, cid, nullStr(e.Linkname), kind,
				nullStr(e.Capabilities))
		}
		n := end - start
		if n == entryBatch {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertEntries(entryBatch)); err != nil {
					return err
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertEntries(n), args...)
		}
		if err != nil {
			return fmt.Errorf("entries %d-%d: %w", start, end-1, err)
		}
	}
	return nil
}

// insertEntries is an INSERT of n entry rows.
func insertEntries(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO entries (id, layer_id, path_id, raw_name, type, mode, uid, gid, uname, gname, size, mtime, content_id, linkname, kind, capabilities) VALUES `)
	row := "(" + strings.Repeat("?,", entryColumns-1) + "?)"
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

// interner resolves paths and content hashes to their ids within one write
// transaction, remembering new ids until the transaction commits.
type interner struct {
	db           *DB
	paths, conts map[string]int64 // learned in this transaction
}

func newInterner(db *DB) *interner {
	return &interner{db: db, paths: map[string]int64{}, conts: map[string]int64{}}
}

// maxCache bounds the committed-id caches; past it they start over.
const maxCache = 1 << 21

// commit moves the ids learned in a committed transaction into the DB's
// caches. Call it with db.mu held.
func (w *interner) commit() {
	if len(w.db.paths)+len(w.paths) > maxCache {
		w.db.paths = map[string]int64{}
	}
	if len(w.db.conts)+len(w.conts) > maxCache {
		w.db.conts = map[string]int64{}
	}
	for k, v := range w.paths {
		w.db.paths[k] = v
	}
	for k, v := range w.conts {
		w.db.conts[k] = v
	}
}

func (w *interner) id(key string, committed, pending map[string]int64) int64 {
	if id, ok := committed[key]; ok {
		return id
	}
	return pending[key]
}

// internAll makes sure every key has a row in table(col), finding existing
// rows and inserting the others in batches, and records their ids in pending.
func (w *interner) internAll(ctx context.Context, tx *sql.Tx, table, col string, keys []string, committed, pending map[string]int64) error {
	var missing []string
	seen := map[string]bool{}
	for _, k := range keys {
		if _, ok := committed[k]; ok {
			continue
		}
		if _, ok := pending[k]; ok || seen[k] {
			continue
		}
		seen[k] = true
		missing = append(missing, k)
	}
	scan := func(q string, chunk []string) error {
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var k string
			if err := rows.Scan(&id, &k); err != nil {
				return err
			}
			pending[k] = id
		}
		return rows.Err()
	}
	for start := 0; start < len(missing); start += internBatch {
		chunk := missing[start:min(start+internBatch, len(missing))]
		q := "SELECT id, " + col + " FROM " + table + " WHERE " + col + " IN (?" + strings.Repeat(",?", len(chunk)-1) + ")"
		if err := scan(q, chunk); err != nil {
			return err
		}
	}
	var absent []string
	for _, k := range missing {
		if _, ok := pending[k]; !ok {
			absent = append(absent, k)
		}
	}
	for start := 0; start < len(absent); start += internBatch {
		chunk := absent[start:min(start+internBatch, len(absent))]
		q := "INSERT INTO " + table + " (" + col + ") VALUES (?)" + strings.Repeat(",(?)", len(chunk)-1) + " RETURNING id, " + col
		if err := scan(q, chunk); err != nil {
			return err
		}
	}
	return nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
