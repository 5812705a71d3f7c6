package index

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// benchLayer is a layer of n entries shaped like a distribution layer:
// directories of 50 entries, regular files with one content hash each (a
// tenth shared), paths that repeat across layers.
func benchLayer(digest string, n int) *Layer {
	l := &Layer{Digest: digest, Compression: "gzip", Size: 1, UncompressedSize: 1}
	mtime := time.Unix(1700000000, 0)
	for i := range n {
		e := Entry{Path: fmt.Sprintf("/usr/lib/pkg%d/file%d.so", i/50, i), Type: TypeFile, Mode: 0o644, Size: int64(i), ModTime: mtime, Kind: KindELF,
			SHA256: fmt.Sprintf("%064x", i%(n-n/10))}
		if i%50 == 0 {
			e = Entry{Path: fmt.Sprintf("/usr/lib/pkg%d", i/50), Type: TypeDir, Mode: 0o755, ModTime: mtime, Kind: KindNone}
		}
		l.Entries = append(l.Entries, e)
	}
	return l
}

// BenchmarkWriterWhole writes layers of 100,000 entries into one index
// through PutLayer, each in one transaction, and reports rows written per
// second. (index_test's BenchmarkPutLayer measures PutLayer on synthetic
// fleet data.)
func BenchmarkWriterWhole(b *testing.B) {
	benchWriter(b, func(ctx context.Context, db *DB, l *Layer) error { return db.PutLayer(ctx, l) })
}

// BenchmarkWriterStreamed writes the layers of BenchmarkWriterWhole through
// a streaming LayerWriter (chunks written while the next ones fill) and
// reports rows written per second.
func BenchmarkWriterStreamed(b *testing.B) {
	benchWriter(b, func(ctx context.Context, db *DB, l *Layer) error {
		w, err := db.BeginLayer(ctx, l.Digest, 5_000_000)
		if err != nil {
			return err
		}
		defer w.Abort(ctx)
		for _, e := range l.Entries {
			if err := w.Add(ctx, e); err != nil {
				return err
			}
		}
		return w.Commit(ctx, l)
	})
}

// benchWriter stores layers of 100,000 entries (four shapes over and over,
// so paths and hashes repeat across layers) with put, and reports rows
// written per second.
func benchWriter(b *testing.B, put func(context.Context, *DB, *Layer) error) {
	const n = 100_000
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "w.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	layers := make([]*Layer, 0, 4)
	for i := range 4 {
		layers = append(layers, benchLayer(fmt.Sprintf("sha256:%064x", i), n))
	}
	rows := 0
	i := 0
	for b.Loop() {
		l := layers[i%len(layers)]
		l.Digest = fmt.Sprintf("sha256:%064x", i)
		i++
		if err := put(ctx, db, l); err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
