package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/klauspost/compress/zstd"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
)

// chunkEntries is how many entries a LayerWriter holds before it copies
// them into the layer's transaction.
const chunkEntries = 16384

// Captured contents are compressed with zstd, as the SQLite index does.
var captureEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))

// SetScanners sets the per-layer scanners of the scan and their versions
// (see index.DB.SetScanners).
func (db *DB) SetScanners(vs []auditor.ScannerVersion) {
	vs = slices.Clone(vs)
	db.scanners.Store(&vs)
}

// Scanners returns what SetScanners set.
func (db *DB) Scanners() []auditor.ScannerVersion {
	if p := db.scanners.Load(); p != nil {
		return *p
	}
	return nil
}

// staleScanners returns the scanners set that did not read the layer with
// this id at their current version.
func (db *DB) staleScanners(ctx context.Context, layerID int64) ([]string, error) {
	var stale []string
	for _, s := range db.Scanners() {
		var have string
		err := db.pool.QueryRow(ctx, `SELECT version FROM layer_scanners WHERE layer_id = $1 AND scanner = $2`, layerID, s.Name).Scan(&have)
		if err != nil && !noRows(err) {
			return nil, fmt.Errorf("scanner %s: %w", s.Name, err)
		}
		if have != s.Version {
			stale = append(stale, s.Name)
		}
	}
	return stale, nil
}

// HasLayer reports whether the layer blob is fully indexed by the current
// reader version and read by every scanner set, at its version.
func (db *DB) HasLayer(ctx context.Context, digest string) (bool, error) {
	var id int64
	var v int
	err := db.pool.QueryRow(ctx, `SELECT id, reader_version FROM layers WHERE digest = $1`, digest).Scan(&id, &v)
	if noRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("layer %s: %w", digest, err)
	}
	if v < index.ReaderVersion {
		return false, nil
	}
	stale, err := db.staleScanners(ctx, id)
	if err != nil {
		return false, fmt.Errorf("layer %s: %w", digest, err)
	}
	return len(stale) == 0, nil
}

// LayerByDiffID returns the digest of an indexed layer (read by the
// scanners set) whose uncompressed tar has this diff_id, or "".
func (db *DB) LayerByDiffID(ctx context.Context, diffID string) (string, error) {
	var d string
	var id int64
	err := db.pool.QueryRow(ctx, `SELECT digest, id FROM layers WHERE diff_id = $1 AND reader_version >= $2 ORDER BY id LIMIT 1`,
		diffID, index.ReaderVersion).Scan(&d, &id)
	if noRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("layer with diff_id %s: %w", diffID, err)
	}
	stale, err := db.staleScanners(ctx, id)
	if err != nil || len(stale) > 0 {
		return "", err
	}
	return d, nil
}

// LayerWriter stores one layer whose entries arrive in tar order. Its
// entries are copied (COPY) a chunk at a time into one transaction, held
// from the first chunk to Commit, which inserts the layer's row and commits:
// until then nothing of the layer is visible to anyone (MVCC), and an
// Abort, an error or a crash of the writer (the server rolls its
// transaction back) leaves nothing behind. Its methods are called from one
// goroutine.
type LayerWriter struct {
	db     *DB
	digest string
	max    int64
	rescan map[string]bool // set when the layer is indexed already: see index.LayerWriter

	conn *pgxpool.Conn
	tx   pgx.Tx
	lid  int64
	// fence, when set, is checked in the layer's transaction before it
	// commits (BeginFencedLayer).
	fence *fence

	buf       []auditor.Entry
	files     map[string]string // path -> sha256 of the regular files of buf, for hardlinks
	matches   []auditor.ContentMatch
	dropped   []auditor.ContentDrop
	configs   []auditor.ConfigFile
	captures  []capture
	digests   map[string]auditor.ContentDigests
	nameBytes int64
	n         int64 // entries added
	written   int64 // entries copied into tx
	done      bool
}

type capture struct {
	seq    int
	sha256 string
	size   int64
	data   []byte // compressed; nil when the index holds the content already
}

// BeginLayer starts storing the layer blob digest, of at most maxEntries
// entries. ctx governs only this call. The writer is a *LayerWriter.
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
	w := &LayerWriter{db: db, digest: digest, max: maxEntries}
	var id int64
	var v int
	err := db.pool.QueryRow(ctx, `SELECT id, reader_version FROM layers WHERE digest = $1`, digest).Scan(&id, &v)
	if err != nil && !noRows(err) {
		return nil, fmt.Errorf("layer %s: %w", digest, err)
	}
	if err == nil && v >= index.ReaderVersion {
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

// Indexed reports whether the layer is indexed already (read again for the
// scanners Scans names).
func (w *LayerWriter) Indexed() bool { return w.rescan != nil }

// Scans reports whether the scanner named must read the layer.
func (w *LayerWriter) Scans(scanner string) bool { return w.rescan == nil || w.rescan[scanner] }

// Len returns how many entries were added.
func (w *LayerWriter) Len() int64 { return w.n }

// Add adds the next entry of the layer, in tar order; a full chunk is
// copied into the layer's transaction (begun at the first). A hardlink
// without SHA256 gets that of the last regular file before it at its
// Linkname.
func (w *LayerWriter) Add(ctx context.Context, e auditor.Entry) error {
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
	if len(w.buf) >= chunkEntries {
		if err := w.flush(ctx); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, e)
	return nil
}

// AddMatch records a content match in the entry numbered m.Seq.
func (w *LayerWriter) AddMatch(m auditor.ContentMatch) { w.matches = append(w.matches, m) }

// AddDropped counts the content matches of entry d.Seq not recorded.
func (w *LayerWriter) AddDropped(d auditor.ContentDrop) { w.dropped = append(w.dropped, d) }

// AddConfig records a configuration file of the layer (stored at Commit).
func (w *LayerWriter) AddConfig(f auditor.ConfigFile) { w.configs = append(w.configs, f) }

// AddCapture keeps the content of the entry numbered seq, once per content
// (compressed here unless the index holds it).
func (w *LayerWriter) AddCapture(seq int, data []byte) {
	sum := sha256.Sum256(data)
	c := capture{seq: seq, sha256: hex.EncodeToString(sum[:]), size: int64(len(data))}
	var have bool
	err := w.db.pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM content_blobs b JOIN contents c ON c.id = b.content_id WHERE c.sha256 = $1)`,
		c.sha256).Scan(&have)
	if err != nil || !have {
		c.data = captureEncoder.EncodeAll(data, nil)
	}
	w.captures = append(w.captures, c)
}

// AddDigests records the md5 and sha1 of a content (stored at Commit).
func (w *LayerWriter) AddDigests(d auditor.ContentDigests) {
	if w.digests == nil {
		w.digests = map[string]auditor.ContentDigests{}
	}
	w.digests[d.SHA256] = d
}

// begin opens the layer's transaction and takes its id.
func (w *LayerWriter) begin(ctx context.Context) error {
	if w.tx != nil {
		return nil
	}
	select {
	case w.db.layerSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	conn, err := w.db.pool.Acquire(ctx)
	if err != nil {
		<-w.db.layerSlots
		return err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		conn.Release()
		<-w.db.layerSlots
		return err
	}
	w.conn, w.tx = conn, tx
	return tx.QueryRow(ctx, `SELECT nextval('layer_ids')`).Scan(&w.lid)
}

// flush copies the held entries into the layer's transaction.
func (w *LayerWriter) flush(ctx context.Context) error {
	if len(w.buf) == 0 {
		return nil
	}
	if err := w.begin(ctx); err != nil {
		return fmt.Errorf("layer %s: %w", w.digest, err)
	}
	if err := w.copyChunk(ctx); err != nil {
		return fmt.Errorf("layer %s: store entries %d-%d: %w", w.digest, w.written, w.written+int64(len(w.buf))-1, err)
	}
	w.written += int64(len(w.buf))
	clear(w.buf)
	w.buf = w.buf[:0]
	return nil
}

func (w *LayerWriter) copyChunk(ctx context.Context) error {
	if err := w.resolveLinks(ctx); err != nil {
		return fmt.Errorf("hardlinks: %w", err)
	}
	keys := make([]string, 0, len(w.buf))
	for i := range w.buf {
		keys = append(keys, Text(w.buf[i].Path))
	}
	pids, err := w.db.paths.intern(ctx, w.db, keys)
	if err != nil {
		return err
	}
	keys = keys[:0]
	for i := range w.buf {
		if w.buf[i].SHA256 != "" {
			keys = append(keys, w.buf[i].SHA256)
		}
	}
	cids, err := w.db.contents.intern(ctx, w.db, keys)
	if err != nil {
		return err
	}
	rows := make([][]any, len(w.buf))
	for i := range w.buf {
		e := &w.buf[i]
		var cid, mtime, kind any
		if e.SHA256 != "" {
			cid = cids[e.SHA256]
		}
		if !e.ModTime.IsZero() {
			mtime = e.ModTime.Unix()
		}
		if e.Kind != auditor.KindNone {
			kind = int16(e.Kind)
		}
		rows[i] = []any{w.lid, w.written + int64(i), pids[Text(e.Path)], nullStr(e.RawName), int16(e.Type), e.Mode,
			e.UID, e.GID, nullStr(e.Uname), nullStr(e.Gname), e.Size, mtime, cid, nullStr(e.Linkname), kind, nullStr(e.Capabilities)}
	}
	n, err := w.tx.CopyFrom(ctx, pgx.Identifier{"entries"}, []string{"layer_id", "seq", "path_id", "raw_name", "type", "mode",
		"uid", "gid", "uname", "gname", "size", "mtime", "content_id", "linkname", "kind", "capabilities"}, pgx.CopyFromRows(rows))
	if err != nil {
		return err
	}
	if n != int64(len(rows)) {
		return fmt.Errorf("%d of %d rows copied", n, len(rows))
	}
	return nil
}

// resolveLinks sets the SHA256 of the hardlinks of buf that have none to
// that of the last regular file before them at their target: in buf, or
// among the entries copied already.
func (w *LayerWriter) resolveLinks(ctx context.Context) error {
	if !slices.ContainsFunc(w.buf, func(e auditor.Entry) bool { return e.Type == auditor.TypeHardlink && e.SHA256 == "" }) {
		return nil
	}
	if w.files == nil {
		w.files = map[string]string{}
	}
	clear(w.files)
	for i := range w.buf {
		e := &w.buf[i]
		switch {
		case e.Type == auditor.TypeFile:
			w.files[e.Path] = e.SHA256
		case e.Type == auditor.TypeHardlink && e.SHA256 == "":
			target := path.Clean("/" + e.Linkname)
			if sum, ok := w.files[target]; ok {
				e.SHA256 = sum
				continue
			}
			if w.written == 0 {
				continue
			}
			err := w.tx.QueryRow(ctx, `SELECT c.sha256 FROM entries e JOIN contents c ON c.id = e.content_id
				WHERE e.layer_id = $1 AND e.path_id = (SELECT id FROM paths WHERE path = $2) AND e.type = 0
				ORDER BY e.seq DESC LIMIT 1`, w.lid, Text(target)).Scan(&e.SHA256)
			if err != nil && !noRows(err) {
				return fmt.Errorf("%q: %w", e.Path, err)
			}
		}
	}
	return nil
}

// Commit stores the held entries, what the scanners found and the layer's
// row (with what l says of the blob), and commits the layer's transaction:
// the layer becomes visible whole. A layer stored by another writer
// meanwhile is left as it is and this one's rows are dropped. After an
// error, call Abort.
func (w *LayerWriter) Commit(ctx context.Context, l *auditor.Layer) error {
	if w.done {
		return fmt.Errorf("layer %s: commit after commit or abort", w.digest)
	}
	if l.Digest != w.digest {
		return fmt.Errorf("layer %s: commit as %s", w.digest, l.Digest)
	}
	if w.rescan != nil {
		err := w.db.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, commitLock); err != nil {
				return err
			}
			return w.putRescan(ctx, tx, l.Scans)
		})
		if err != nil {
			return fmt.Errorf("layer %s: store: %w", w.digest, err)
		}
		w.finish()
		return nil
	}
	if err := w.begin(ctx); err != nil {
		return fmt.Errorf("layer %s: store: %w", w.digest, err)
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	start := w.db.Now()
	err := w.commit(ctx, l)
	w.db.writeTime.Add(int64(w.db.Now().Sub(start)))
	if err != nil {
		return fmt.Errorf("layer %s: store: %w", w.digest, err)
	}
	return nil
}

// commitLock is the key of the transaction advisory lock under which a
// layer's transaction writes its rows that other layers share (the
// layer's row, captured contents and their digests, configuration files'
// lines and rows, all keyed by content), from its first such write to its
// commit. Concurrent layer transactions (a scan's jobs, several workers)
// wrote them in tar and map order, and two of them holding what the other
// wanted were deadlocked (SQLSTATE 40P01, the big fleet's first PostgreSQL
// scan by one worker: 16 images failed). The entries, the bulk of a layer,
// are still copied concurrently; only this last part takes turns.
const commitLock = 0x61756469746f74

func (w *LayerWriter) commit(ctx context.Context, l *auditor.Layer) error {
	tx := w.tx
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, commitLock); err != nil {
		return err
	}
	var stored bool
	// Waits for another writer inserting the same digest, then skips.
	err := tx.QueryRow(ctx, `WITH ins AS (INSERT INTO layers
		(id, digest, diff_id, media_type, compression, size, uncompressed_size, entries, reader_version, indexed_at, name_bytes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (digest) DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM ins)`,
		w.lid, w.digest, nullStr(l.DiffID), nullStr(l.MediaType), l.Compression, l.Size, l.UncompressedSize,
		w.n, index.ReaderVersion, w.db.now(), w.nameBytes).Scan(&stored)
	if err != nil {
		return err
	}
	if !stored {
		w.Abort(ctx) // stored by another writer meanwhile
		w.finish()
		return nil
	}
	if err := putMatches(ctx, tx, w.lid, w.n, w.matches, w.dropped); err != nil {
		return err
	}
	if err := putCaptures(ctx, tx, w.lid, w.n, w.captures, w.digests); err != nil {
		return err
	}
	if err := putScans(ctx, tx, w.lid, l.Scans, w.db.now()); err != nil {
		return err
	}
	if err := putConfigs(ctx, tx, w.lid, w.n, w.configs); err != nil {
		return err
	}
	if w.fence != nil {
		if err := w.fence.check(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	w.release()
	w.finish()
	return nil
}

// putRescan stores what the scanners found in an indexed layer read again
// for them, replacing what older versions found (see index).
func (w *LayerWriter) putRescan(ctx context.Context, tx pgx.Tx, scans []auditor.LayerScan) error {
	var id, stored int64
	if err := tx.QueryRow(ctx, `SELECT id, entries FROM layers WHERE digest = $1 FOR UPDATE`, w.digest).Scan(&id, &stored); err != nil {
		return fmt.Errorf("layer read again for its scanners: %w", err)
	}
	var todo []auditor.LayerScan
	for _, s := range scans {
		var have string
		err := tx.QueryRow(ctx, `SELECT version FROM layer_scanners WHERE layer_id = $1 AND scanner = $2`, id, s.Scanner).Scan(&have)
		if err != nil && !noRows(err) {
			return fmt.Errorf("scanner %s: %w", s.Scanner, err)
		}
		if have != s.Version {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if w.n != stored {
		return fmt.Errorf("layer read again with %d entries, but %d are indexed", w.n, stored)
	}
	if slices.ContainsFunc(todo, func(s auditor.LayerScan) bool { return s.Scanner == auditor.ContentScanner }) {
		for _, q := range []string{`DELETE FROM content_hits WHERE layer_id = $1`, `DELETE FROM content_dropped WHERE layer_id = $1`} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return fmt.Errorf("content matches: %w", err)
			}
		}
		if err := putMatches(ctx, tx, id, w.n, w.matches, w.dropped); err != nil {
			return err
		}
	}
	if slices.ContainsFunc(todo, func(s auditor.LayerScan) bool { return s.Scanner == auditor.ConfigScanner }) {
		if err := putConfigs(ctx, tx, id, w.n, w.configs); err != nil {
			return err
		}
	}
	if err := putCaptures(ctx, tx, id, w.n, w.captures, w.digests); err != nil {
		return err
	}
	return putScans(ctx, tx, id, todo, w.db.now())
}

// Abort gives the layer up: its transaction is rolled back (even when ctx
// is cancelled). It does nothing after Commit returned nil, or twice.
func (w *LayerWriter) Abort(ctx context.Context) error {
	if w.tx == nil {
		w.finish()
		return nil
	}
	err := w.tx.Rollback(context.WithoutCancel(ctx))
	w.release()
	w.finish()
	if err != nil {
		return fmt.Errorf("layer %s: rollback: %w", w.digest, err)
	}
	return nil
}

func (w *LayerWriter) release() {
	if w.conn != nil {
		w.conn.Release()
		<-w.db.layerSlots
	}
	w.conn, w.tx = nil, nil
}

func (w *LayerWriter) finish() {
	w.done = true
	w.buf, w.files, w.matches, w.dropped, w.configs, w.captures, w.digests = nil, nil, nil, nil, nil, nil, nil
}

// PutLayer stores a layer held whole in memory (see index.DB.PutLayer).
func (db *DB) PutLayer(ctx context.Context, l *auditor.Layer) error {
	w, err := db.beginLayer(ctx, l.Digest, max(1, int64(len(l.Entries))))
	if err != nil {
		return err
	}
	defer w.Abort(ctx)
	return crawl.WriteLayer(ctx, w, l)
}
