package crawl_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/auditor-dev/auditor/crawl"
)

// BenchmarkTarBombMemory reads a layer of 200,000 empty files and reports
// the heap it holds per entry at the end: multiply by
// max_entries_per_layer and by the jobs reading layers at once for the
// worst case a tar bomb can cost.
func BenchmarkTarBombMemory(b *testing.B) {
	const n = 200_000
	blob := gz(b, bigTar(b, n))
	in := crawl.LayerInput{Digest: digestOf(blob)}
	var perEntry float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l, err := crawl.ReadLayer(context.Background(), bytes.NewReader(blob), in, crawl.Limits{})
		if err != nil || len(l.Entries) != n {
			b.Fatalf("%v, %d entries", err, len(l.Entries))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(l)
	}
	b.ReportMetric(perEntry, "heap-bytes/entry")
}
