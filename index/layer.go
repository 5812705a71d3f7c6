package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

const insertEntry = `INSERT INTO entries
	(id, layer_id, path_id, raw_name, type, mode, uid, gid, uname, gname, size, mtime, content_id, linkname, kind, capabilities)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

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
	stmt, err := tx.PrepareContext(ctx, insertEntry)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range l.Entries {
		e := &l.Entries[i]
		pid, err := w.path(ctx, tx, e.Path)
		if err != nil {
			return err
		}
		var cid any
		if e.SHA256 != "" {
			if cid, err = w.content(ctx, tx, e.SHA256); err != nil {
				return err
			}
		}
		var mtime, kind any
		if !e.ModTime.IsZero() {
			mtime = e.ModTime.Unix()
		}
		if e.Kind != KindNone {
			kind = int(e.Kind)
		}
		if _, err := stmt.ExecContext(ctx, first+int64(i), lid, pid, nullStr(e.RawName), int(e.Type), e.Mode,
			e.UID, e.GID, nullStr(e.Uname), nullStr(e.Gname), e.Size, mtime, cid, nullStr(e.Linkname), kind,
			nullStr(e.Capabilities)); err != nil {
			return fmt.Errorf("entry %q: %w", e.Path, err)
		}
	}
	return nil
}

// interner resolves paths and content hashes to their ids within one write
// transaction, remembering new ids until the transaction commits.
type interner struct {
	db            *DB
	paths, conts  map[string]int64
	getP, getC    *sql.Stmt
	putP, putC    *sql.Stmt
	prepared      bool
	preparedForTx *sql.Tx
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

func (w *interner) prepare(ctx context.Context, tx *sql.Tx) error {
	if w.preparedForTx == tx {
		return nil
	}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = tx.PrepareContext(ctx, q)
		return s
	}
	w.getP = prep(`SELECT id FROM paths WHERE path = ?`)
	w.putP = prep(`INSERT INTO paths (path) VALUES (?) RETURNING id`)
	w.getC = prep(`SELECT id FROM contents WHERE sha256 = ?`)
	w.putC = prep(`INSERT INTO contents (sha256) VALUES (?) RETURNING id`)
	w.preparedForTx = tx
	return err
}

func (w *interner) path(ctx context.Context, tx *sql.Tx, p string) (int64, error) {
	return w.intern(ctx, tx, p, w.db.paths, w.paths, func() (*sql.Stmt, *sql.Stmt) { return w.getP, w.putP })
}

func (w *interner) content(ctx context.Context, tx *sql.Tx, sum string) (int64, error) {
	return w.intern(ctx, tx, sum, w.db.conts, w.conts, func() (*sql.Stmt, *sql.Stmt) { return w.getC, w.putC })
}

func (w *interner) intern(ctx context.Context, tx *sql.Tx, key string, committed, pending map[string]int64, stmts func() (*sql.Stmt, *sql.Stmt)) (int64, error) {
	if id, ok := committed[key]; ok {
		return id, nil
	}
	if id, ok := pending[key]; ok {
		return id, nil
	}
	if err := w.prepare(ctx, tx); err != nil {
		return 0, err
	}
	get, put := stmts()
	var id int64
	err := get.QueryRowContext(ctx, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = put.QueryRowContext(ctx, key).Scan(&id)
	}
	if err != nil {
		return 0, err
	}
	pending[key] = id
	return id, nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
