package index

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Captured contents are compressed with zstd, which shrinks package
// databases (text, or sparse rpm pages) several times.
var (
	captureEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	captureDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
)

// capture is a content a scanner kept, ready to store: its compressed
// bytes unless the index holds them already.
type capture struct {
	seq    int
	sha256 string
	size   int64
	data   []byte // compressed; nil when the index has the content already
}

// AddCapture keeps the content of the entry numbered seq (a package
// database file): stored at Commit, once per content. data is compressed
// here (the caller may reuse it), unless the index holds the content.
func (w *LayerWriter) AddCapture(seq int, data []byte) {
	sum := sha256.Sum256(data)
	c := capture{seq: seq, sha256: hex.EncodeToString(sum[:]), size: int64(len(data))}
	var have int
	err := w.db.r.QueryRow(`SELECT count(*) FROM content_blobs b JOIN contents c ON c.id = b.content_id WHERE c.sha256 = ?`, c.sha256).Scan(&have)
	if err != nil || have == 0 {
		c.data = captureEncoder.EncodeAll(data, nil)
	}
	w.captures = append(w.captures, c)
}

// AddDigests records the md5 and sha1 of a content (stored at Commit, once
// per content).
func (w *LayerWriter) AddDigests(d ContentDigests) {
	if w.digests == nil {
		w.digests = map[string]ContentDigests{}
	}
	w.digests[d.SHA256] = d
}

// HasDigests reports whether the index holds the md5 and sha1 of the
// content with this sha256 (a scan need not compute them again). On an
// index that held no layer when the first layer was begun (a first scan), it answers
// from the digests stored since, in memory, without a query per file.
func (w *LayerWriter) HasDigests(sha string) bool {
	if have, ok := w.db.digestsKept(sha); ok {
		return have
	}
	var have int
	err := w.db.r.QueryRow(`SELECT count(*) FROM contents WHERE sha256 = ? AND md5 IS NOT NULL`, sha).Scan(&have)
	return err == nil && have > 0
}

// digestsStored is what a DB knows, in memory, of the contents it holds the
// md5 and sha1 of: while exact, exactly those it stored itself (the index
// held no layer when first asked, so none before). Past maxStoredDigests,
// or when another writer may have stored some (a layer found stored
// meanwhile), HasDigests queries the index.
type digestsStored struct {
	mu     sync.Mutex
	asked  bool
	exact  bool
	sha256 map[string]struct{}
}

// maxStoredDigests bounds the contents digestsStored keeps (about 100
// bytes each).
const maxStoredDigests = 1 << 20

// askDigests makes digestsStored exact when the index holds no layer yet.
// It is asked before the first layer is begun, as a layer committed before
// (one with no digest to store, say) would leave the index not empty when
// its first file asks, and every file of the scan would query the index.
func (db *DB) askDigests() {
	d := &db.digests
	d.mu.Lock()
	defer d.mu.Unlock()
	db.askDigestsLocked()
}

func (db *DB) askDigestsLocked() {
	d := &db.digests
	if d.asked {
		return
	}
	d.asked = true
	var layers int
	err := db.r.QueryRow(`SELECT EXISTS (SELECT 1 FROM layers)`).Scan(&layers)
	d.exact = err == nil && layers == 0
	d.sha256 = map[string]struct{}{}
}

// digestsKept answers HasDigests from memory when it can (ok).
func (db *DB) digestsKept(sha string) (have, ok bool) {
	d := &db.digests
	d.mu.Lock()
	defer d.mu.Unlock()
	db.askDigestsLocked()
	if !d.exact {
		return false, false
	}
	_, have = d.sha256[sha]
	return have, true
}

// storedDigests records digests a commit stored (all true: their layer is
// indexed), or, with all false, that another writer stored some.
func (db *DB) storedDigests(digests map[string]ContentDigests, all bool) {
	d := &db.digests
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.asked || !d.exact {
		return // not asked yet: the first question reads the index
	}
	if !all || len(d.sha256)+len(digests) > maxStoredDigests {
		d.exact, d.sha256 = false, nil
		return
	}
	for sha := range digests {
		d.sha256[sha] = struct{}{}
	}
}

// putCaptures stores, in tx, the captures and digests of the layer with
// this id (n entries from entry id first). The entries' contents are
// stored already.
func putCaptures(ctx context.Context, tx *sql.Tx, layerID, first, n int64, caps []capture, digests map[string]ContentDigests) error {
	for _, c := range caps {
		if c.seq < 0 || int64(c.seq) >= n {
			return fmt.Errorf("capture: no entry %d", c.seq)
		}
		if c.data != nil {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO content_blobs (content_id, size, compression, data)
				SELECT id, ?, 'zstd', ? FROM contents WHERE sha256 = ?`, c.size, c.data, c.sha256); err != nil {
				return fmt.Errorf("capture of entry %d: %w", c.seq, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO captured_entries (entry_id, layer_id) VALUES (?, ?)`, first+int64(c.seq), layerID); err != nil {
			return fmt.Errorf("capture of entry %d: %w", c.seq, err)
		}
	}
	if len(digests) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE contents SET md5 = ?, sha1 = ? WHERE sha256 = ? AND md5 IS NULL`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, d := range digests {
		if _, err := stmt.ExecContext(ctx, d.MD5, d.SHA1, d.SHA256); err != nil {
			return fmt.Errorf("digests of %s: %w", d.SHA256, err)
		}
	}
	return nil
}

// ErrNoCapture is returned by Capture for a content the index holds no
// bytes of.
var ErrNoCapture = errors.New("content not captured")

// Capture returns the bytes of a captured content (a package database
// file), by sha256; at most maxSize bytes (a bound on what a corrupt row
// may cost).
func (db *DB) Capture(ctx context.Context, sha string, maxSize int64) ([]byte, error) {
	var size int64
	var compression string
	var data []byte
	err := db.r.QueryRowContext(ctx, `SELECT b.size, b.compression, b.data FROM content_blobs b JOIN contents c ON c.id = b.content_id
		WHERE c.sha256 = ?`, sha).Scan(&size, &compression, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", sha, ErrNoCapture)
	}
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", sha, err)
	}
	return DecodeCapture(sha, size, compression, data, maxSize)
}

// DecodeCapture returns the bytes of a content_blobs row (its size,
// compression and data) of the content sha, refusing one over maxSize
// bytes. The PostgreSQL back end stores captures the same way.
func DecodeCapture(sha string, size int64, compression string, data []byte, maxSize int64) ([]byte, error) {
	var err error
	if size > maxSize {
		return nil, fmt.Errorf("capture %s: %d bytes, over the %d asked for", sha, size, maxSize)
	}
	switch compression {
	case "none":
	case "zstd":
		if data, err = captureDecoder.DecodeAll(data, make([]byte, 0, size)); err != nil {
			return nil, fmt.Errorf("capture %s: %w", sha, err)
		}
	default:
		return nil, fmt.Errorf("capture %s: unknown compression %q", sha, compression)
	}
	if int64(len(data)) != size {
		return nil, fmt.Errorf("capture %s: %d bytes, %d recorded", sha, len(data), size)
	}
	return data, nil
}
