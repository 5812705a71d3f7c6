package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/auditor-dev/auditor/crawl"
)

// chunkEntries is how many entries a LayerWriter holds before it writes them
// in a transaction of their own: its memory does not grow with the layer.
// Larger chunks write a little faster (fewer commits) and cost about 300
// bytes an entry.
const chunkEntries = 16384

// LayerWriter stores one layer whose entries arrive in tar order, a chunk at
// a time, so that memory does not grow with the number of entries. Nothing
// it writes is visible (in the views, or to HasLayer) before Commit returns
// nil; Abort, an error, or a crash at any point leaves nothing visible, and
// the rows written so far are removed by Abort or by the next BeginScan.
//
// A layer of at most a chunk of entries is written in the one transaction
// of Commit. A larger one reserves, at its first chunk, a layers.id and a
// block of maxEntries entry ids (recorded in pending_layers), so its entries
// get consecutive ids in tar order even while other layers are written at
// the same time. Each full chunk is written on a goroutine of its own while
// the next one fills, so reading and writing a large layer overlap; the
// methods of a LayerWriter are called from one goroutine.
type LayerWriter struct {
	db     *DB
	digest string
	max    int64 // most entries the layer may have (ids reserved)
	chunk  int   // entries held before they are written
	// rescan is set when the layer is indexed already and is read again for
	// the scanners it names (those that did not read it at their current
	// version): only what they find is kept.
	rescan map[string]bool

	// Add fills buf and matches; a full chunk moves to out and outMatches,
	// which a goroutine writes while the next chunk fills.
	buf, out            []Entry
	matches, outMatches []ContentMatch // all of them when rescan
	dropped             []ContentDrop  // written at Commit
	configs             []ConfigFile   // the layer's configuration files, stored at Commit
	captures            []capture      // written at Commit
	digests             map[string]ContentDigests
	nameBytes           int64      // of the entries' paths and link targets
	n                   int64      // entries added
	queued              int64      // entries moved to out, written or not
	inflight            chan error // the write of out, if one runs
	err                 error      // the first write that failed
	written             int64      // entries written (committed) to the reservation

	reserved bool  // lid and first are reserved in pending_layers
	lid      int64 // layers.id the layer gets
	first    int64 // entries.id of its first entry
	done     bool  // committed or aborted
	files    linkCache
}

// BeginLayer starts storing the layer blob digest, which has at most
// maxEntries entries. ctx governs only this call. When the layer is already
// indexed by this reader version (it is read again for the scanners that did
// not read it at their current version: see Scans), the writer keeps only
// what those scanners find and the count of entries. The writer is a
// *LayerWriter.
func (db *DB) BeginLayer(ctx context.Context, digest string, maxEntries int64) (crawl.LayerWriter, error) {
	w, err := db.beginLayer(ctx, digest, maxEntries)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (db *DB) beginLayer(ctx context.Context, digest string, maxEntries int64) (*LayerWriter, error) {
	if maxEntries <= 0 {
		return nil, fmt.Errorf("layer %s: max entries must be positive, got %d", digest, maxEntries)
	}
	db.askDigests()
	w := &LayerWriter{db: db, digest: digest, max: maxEntries, chunk: chunkEntries}
	var id int64
	var v int
	err := db.r.QueryRowContext(ctx, `SELECT id, reader_version FROM layers WHERE digest = ?`, digest).Scan(&id, &v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("layer %s: %w", digest, err)
	}
	if err == nil && v >= ReaderVersion {
		stale, err := db.staleScanners(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", digest, err)
		}
		w.rescan = map[string]bool{}
		for _, s := range stale {
			w.rescan[s] = true
		}
	}
	return w, nil
}

// Indexed reports whether the layer is indexed already: it is read again
// for the scanners Scans names, and only what they find is stored.
func (w *LayerWriter) Indexed() bool { return w.rescan != nil }

// Scans reports whether the scanner named must read the layer: every
// scanner for a layer not indexed yet; for one indexed already, only those
// that did not read it at their current version.
func (w *LayerWriter) Scans(scanner string) bool {
	return w.rescan == nil || w.rescan[scanner]
}

// Len returns how many entries were added.
func (w *LayerWriter) Len() int64 { return w.n }

// Add adds the next entry of the layer, in tar order. A hardlink without
// SHA256 gets that of the last regular file before it in the layer at its
// Linkname (cleaned as paths are). Once a chunk of entries is held, the
// next Add hands them to a goroutine that writes them in a transaction of
// their own (ctx governs that write); an error of that write is returned by
// a later Add or by Commit.
func (w *LayerWriter) Add(ctx context.Context, e Entry) error {
	if w.done {
		return fmt.Errorf("layer %s: add after commit or abort", w.digest)
	}
	if w.n >= w.max {
		return fmt.Errorf("layer %s: more than %d entries", w.digest, w.max)
	}
	w.n++
	w.nameBytes += int64(len(e.Path) + len(e.Linkname))
	if w.rescan != nil {
		return nil
	}
	if len(w.buf) >= w.chunk {
		// Written only now, so the matches of the chunk's last entry are in.
		if err := w.wait(); err != nil {
			return err
		}
		w.handOff()
		done := make(chan error, 1)
		w.inflight = done
		go func() { done <- w.flush(ctx) }()
	}
	w.buf = append(w.buf, e)
	return nil
}

// handOff moves the held entries, and their matches, to out. Call it with
// no write in flight.
func (w *LayerWriter) handOff() {
	end := w.queued + int64(len(w.buf))
	w.out, w.buf = w.buf, w.out[:0]
	w.outMatches = w.outMatches[:0]
	keep := w.matches[:0]
	for _, m := range w.matches {
		if int64(m.Seq) < end {
			w.outMatches = append(w.outMatches, m)
		} else {
			keep = append(keep, m)
		}
	}
	w.matches = keep
	w.queued = end
}

// wait waits for the write in flight, if any, and returns the error of
// the first write that failed.
func (w *LayerWriter) wait() error {
	if w.inflight != nil {
		if err := <-w.inflight; err != nil && w.err == nil {
			w.err = err
		}
		w.inflight = nil
	}
	return w.err
}

// AddMatch records a content match in the entry numbered m.Seq (from 0, in
// tar order), which must have been added.
func (w *LayerWriter) AddMatch(m ContentMatch) {
	w.matches = append(w.matches, m)
}

// AddDropped counts the content matches found in the entry numbered d.Seq
// and not recorded (over the caps).
func (w *LayerWriter) AddDropped(d ContentDrop) {
	w.dropped = append(w.dropped, d)
}

// flush writes the entries of out in a transaction of their own, first
// reserving the layer's ids. It runs on its own goroutine, the only one
// touching out, outMatches, written and the reservation meanwhile.
func (w *LayerWriter) flush(ctx context.Context) error {
	db := w.db
	db.mu.Lock()
	defer db.mu.Unlock()
	in := newInterner(db)
	reserved, lid, first := w.reserved, w.lid, w.first
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if !reserved {
			var err error
			if lid, first, err = nextIDs(ctx, tx); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO pending_layers (layer_id, digest, first_entry, last_entry, started) VALUES (?, ?, ?, ?, ?)`,
				lid, w.digest, first, first+w.max-1, db.now()); err != nil {
				return fmt.Errorf("reserving ids: %w", err)
			}
		}
		return w.writeChunk(ctx, tx, in, lid, first)
	})
	if err != nil {
		return fmt.Errorf("layer %s: store entries %d-%d: %w", w.digest, w.written, w.written+int64(len(w.out))-1, err)
	}
	in.commit()
	w.reserved, w.lid, w.first = true, lid, first
	w.written += int64(len(w.out))
	clear(w.out) // drop references to the strings of the chunk
	w.out = w.out[:0]
	w.outMatches = w.outMatches[:0]
	return nil
}

// nextIDs returns the layers.id and first entries.id a layer may take: above
// every stored row and every reservation.
func nextIDs(ctx context.Context, tx *sql.Tx) (lid, first int64, err error) {
	err = tx.QueryRowContext(ctx, `SELECT
		max(COALESCE((SELECT MAX(id) FROM layers), 0), COALESCE((SELECT MAX(layer_id) FROM pending_layers), 0)) + 1,
		max(COALESCE((SELECT MAX(id) FROM entries), 0), COALESCE((SELECT MAX(last_entry) FROM pending_layers), 0)) + 1`).Scan(&lid, &first)
	return lid, first, err
}

// writeChunk writes the entries of out, numbered from w.written, and the
// content matches found in them.
func (w *LayerWriter) writeChunk(ctx context.Context, tx *sql.Tx, in *interner, lid, first int64) error {
	if err := w.resolveLinks(ctx, tx, in, first); err != nil {
		return fmt.Errorf("hardlinks: %w", err)
	}
	keys := make([]string, 0, len(w.out))
	for i := range w.out {
		keys = append(keys, w.out[i].Path)
	}
	if err := in.internAll(ctx, tx, "paths", "path", keys, w.db.paths, in.paths); err != nil {
		return fmt.Errorf("paths: %w", err)
	}
	keys = keys[:0]
	for i := range w.out {
		if w.out[i].SHA256 != "" {
			keys = append(keys, w.out[i].SHA256)
		}
	}
	if err := in.internAll(ctx, tx, "contents", "sha256", keys, w.db.conts, in.conts); err != nil {
		return fmt.Errorf("contents: %w", err)
	}

	base := first + w.written
	var full *sql.Stmt
	args := make([]any, 0, entryBatch*entryColumns)
	for start := 0; start < len(w.out); start += entryBatch {
		end := min(start+entryBatch, len(w.out))
		args = args[:0]
		for i := start; i < end; i++ {
			e := &w.out[i]
			var cid, mtime, kind any
			if e.SHA256 != "" {
				id, err := in.id(e.SHA256, in.conts)
				if err != nil {
					return err
				}
				cid = id
			}
			pid, err := in.id(e.Path, in.paths)
			if err != nil {
				return err
			}
			if !e.ModTime.IsZero() {
				mtime = e.ModTime.Unix()
			}
			if e.Kind != KindNone {
				kind = int(e.Kind)
			}
			args = append(args, base+int64(i), lid, pid, nullStr(e.RawName), int(e.Type), e.Mode,
				e.UID, e.GID, nullStr(e.Uname), nullStr(e.Gname), e.Size, mtime, cid, nullStr(e.Linkname), kind,
				nullStr(e.Capabilities))
		}
		var err error
		var res sql.Result
		n := end - start
		if n == entryBatch {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertEntries(entryBatch)); err != nil {
					return err
				}
				defer full.Close()
			}
			res, err = full.ExecContext(ctx, args...)
		} else {
			res, err = tx.ExecContext(ctx, insertEntries(n), args...)
		}
		var stored int64
		if err == nil {
			stored, err = res.RowsAffected()
		}
		if err == nil && stored != int64(n) {
			// INSERT OR IGNORE skipped a row: a reserved id was taken (a bug).
			err = fmt.Errorf("%d of %d rows stored", stored, n)
		}
		if err != nil {
			return fmt.Errorf("entries %d-%d: %w", w.written+int64(start), w.written+int64(end)-1, err)
		}
	}
	return w.writeMatches(ctx, tx, lid, first)
}

// writeMatches stores the content matches of the entries of out.
func (w *LayerWriter) writeMatches(ctx context.Context, tx *sql.Tx, lid, first int64) error {
	end := w.written + int64(len(w.out))
	var stmt *sql.Stmt
	for _, m := range w.outMatches {
		seq := int64(m.Seq)
		if seq < w.written || seq >= end || m.Seq < 0 {
			return fmt.Errorf("content match %s: no entry %d to store it in", m.PatternID, m.Seq)
		}
		if stmt == nil {
			var err error
			if stmt, err = tx.PrepareContext(ctx, insertHit); err != nil {
				return err
			}
			defer stmt.Close()
		}
		if _, err := stmt.ExecContext(ctx, lid, first+seq, m.PatternID, m.Offset, m.Excerpt); err != nil {
			return fmt.Errorf("content match %s in %q: %w", m.PatternID, w.out[seq-w.written].Path, err)
		}
	}
	return nil
}

const insertHit = `INSERT INTO content_hits (layer_id, entry_id, pattern_id, "offset", excerpt)
	VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

// linkCache is where resolveLinks finds the regular files of the chunk.
type linkCache map[string]string

// resolveLinks sets the SHA256 of the hardlinks of out that have none to
// that of the last regular file before them at their target: in the chunk,
// or among the entries already written.
func (w *LayerWriter) resolveLinks(ctx context.Context, tx *sql.Tx, in *interner, first int64) error {
	if !slices.ContainsFunc(w.out, func(e Entry) bool { return e.Type == TypeHardlink && e.SHA256 == "" }) {
		return nil // most chunks: no map of their files needed
	}
	files := w.files
	if files == nil {
		files = linkCache{}
		w.files = files
	}
	clear(files)
	var stmt *sql.Stmt
	for i := range w.out {
		e := &w.out[i]
		switch {
		case e.Type == TypeFile:
			files[e.Path] = e.SHA256
		case e.Type == TypeHardlink && e.SHA256 == "":
			target := path.Clean("/" + e.Linkname)
			if sum, ok := files[target]; ok {
				e.SHA256 = sum
				continue
			}
			if w.written == 0 {
				continue
			}
			if stmt == nil {
				var err error
				stmt, err = tx.PrepareContext(ctx, `SELECT c.sha256 FROM entries e JOIN contents c ON c.id = e.content_id
					WHERE e.path_id = (SELECT id FROM paths WHERE path = ?) AND e.id BETWEEN ? AND ? AND e.type = 0
					ORDER BY e.id DESC LIMIT 1`)
				if err != nil {
					return err
				}
				defer stmt.Close()
			}
			err := stmt.QueryRowContext(ctx, target, first, first+w.written-1).Scan(&e.SHA256)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%q: %w", e.Path, err)
			}
		}
	}
	return nil
}

// Commit stores the buffered entries and the layer's row, with what l says
// of the blob (l.Entries and l.ContentMatches are ignored: Add and AddMatch
// gave them), and makes the layer visible, in one transaction. After it
// returns nil, HasLayer(digest) is true. A layer already indexed by this
// reader version keeps its entries; only what its scanners found is stored,
// and only when the same number of entries was added. A layer stored by
// someone else meanwhile is left as it is, and the rows written here are
// removed. ctx governs the write; after an error, call Abort.
func (w *LayerWriter) Commit(ctx context.Context, l *Layer) error {
	if w.done {
		return fmt.Errorf("layer %s: commit after commit or abort", w.digest)
	}
	if l.Digest != w.digest {
		return fmt.Errorf("layer %s: commit as %s", w.digest, l.Digest)
	}
	if err := w.wait(); err != nil {
		return err
	}
	if w.rescan == nil {
		w.handOff()
	}
	db := w.db
	db.mu.Lock()
	defer db.mu.Unlock()
	in := newInterner(db)
	discarded := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		discarded = false
		if w.rescan != nil {
			return putRescan(ctx, tx, w.digest, w.n, l.Scans, w.matches, w.dropped, w.configs, w.captures, w.digests, db.now())
		}
		var id, version int64
		err := tx.QueryRowContext(ctx, `SELECT id, reader_version FROM layers WHERE digest = ?`, w.digest).Scan(&id, &version)
		switch {
		case err == nil && version >= ReaderVersion:
			discarded = true
			return w.discard(ctx, tx) // stored by another writer meanwhile
		case err == nil:
			if err := dropLayer(ctx, tx, id); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		lid, first := w.lid, w.first
		if !w.reserved {
			if lid, first, err = nextIDs(ctx, tx); err != nil {
				return err
			}
		}
		if err := w.writeChunk(ctx, tx, in, lid, first); err != nil {
			return err
		}
		if err := putDropped(ctx, tx, lid, first, w.n, w.dropped); err != nil {
			return err
		}
		if err := putCaptures(ctx, tx, lid, first, w.n, w.captures, w.digests); err != nil {
			return err
		}
		indexedAt := db.now()
		_, err = tx.ExecContext(ctx, `INSERT INTO layers
			(id, digest, diff_id, media_type, compression, size, uncompressed_size, entries, first_entry, last_entry, reader_version, indexed_at, name_bytes)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			lid, w.digest, nullStr(l.DiffID), nullStr(l.MediaType), l.Compression, l.Size, l.UncompressedSize,
			w.n, first, first+w.n-1, ReaderVersion, indexedAt, w.nameBytes)
		if err != nil {
			return err
		}
		if err := putScans(ctx, tx, lid, l.Scans, db.now()); err != nil {
			return err
		}
		if err := putConfigs(ctx, tx, lid, first, w.n, w.configs); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM pending_layers WHERE layer_id = ?`, lid)
		return err
	})
	if err != nil {
		return fmt.Errorf("layer %s: store: %w", w.digest, err)
	}
	in.commit()
	if len(w.digests) > 0 || discarded {
		// A layer read again for its scanners may have stored them or
		// not: as one found stored by another writer, the index is asked.
		db.storedDigests(w.digests, w.rescan == nil && !discarded)
	}
	w.finish()
	return nil
}

// discard removes, in tx, what was written under the writer's reservation.
func (w *LayerWriter) discard(ctx context.Context, tx *sql.Tx) error {
	if !w.reserved {
		return nil
	}
	return dropPending(ctx, tx, w.lid, w.first, w.first+w.max-1)
}

// Abort gives the layer up: the rows written so far are removed (even when
// ctx is cancelled; it only passes on its values). It does nothing after
// Commit returned nil, or a second time.
func (w *LayerWriter) Abort(ctx context.Context) error {
	if w.done {
		return nil
	}
	defer w.finish()
	w.wait() // its error is why we abort, or moot
	if !w.reserved {
		return nil
	}
	w.db.mu.Lock()
	defer w.db.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	err := w.db.inTx(ctx, func(tx *sql.Tx) error { return w.discard(ctx, tx) })
	if err != nil {
		return fmt.Errorf("layer %s: removing the entries of an unfinished read: %w", w.digest, err)
	}
	return nil
}

func (w *LayerWriter) finish() {
	w.done = true
	w.buf, w.out, w.matches, w.outMatches, w.dropped, w.files, w.configs = nil, nil, nil, nil, nil, nil, nil
	w.captures, w.digests = nil, nil
}
