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

// BenchmarkPutLayer writes layers of 100,000 entries into one index and
// reports rows written per second.
func BenchmarkPutLayer(b *testing.B) {
	const n = 100_000
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "w.db"))
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
		if err := db.PutLayer(context.Background(), l); err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkLayerWriter writes the layers of BenchmarkPutLayer through a
// streaming LayerWriter (chunked transactions) and reports rows per second.
func BenchmarkLayerWriter(b *testing.B) {
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
		w, err := db.BeginLayer(ctx, l.Digest, 5_000_000)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range l.Entries {
			if err := w.Add(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Commit(ctx, l); err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
