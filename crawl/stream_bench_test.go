package crawl_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
)

// bigLayerEntries is how many tar entries BenchmarkScanBigLayer's layer
// has; AUDITOR_BENCH_ENTRIES overrides it.
func bigLayerEntries(tb testing.TB) int {
	if n, err := strconv.Atoi(os.Getenv("AUDITOR_BENCH_ENTRIES")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// writeBigLayout writes, under dir, an OCI layout of one image whose single
// gzip layer holds n small entries (one directory per 100 files, files of
// 0-40 bytes, every 50th a hardlink), streamed to disk so that building it
// costs no memory.
func writeBigLayout(tb testing.TB, dir string, n int) {
	tb.Helper()
	gzPath := filepath.Join(dir, "layer.tar.gz")
	f, err := os.Create(gzPath)
	if err != nil {
		tb.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	content := []byte("0123456789abcdefghijklmnopqrstuvwxyz0123")
	for i := 0; i < n; i++ {
		var h tar.Header
		switch {
		case i%100 == 0:
			h = tar.Header{Name: fmt.Sprintf("usr/share/pkg%d/", i/100), Typeflag: tar.TypeDir, Mode: 0o755}
		case i%50 == 1:
			// Half the links point at a file just before, half at one
			// far back (in an earlier chunk of a streamed layer).
			target := "usr/share/pkg0/file2"
			if i > 50 && (i/50)%2 == 0 {
				target = fmt.Sprintf("usr/share/pkg%d/file%d", (i-2)/100, i-2)
			}
			h = tar.Header{Name: fmt.Sprintf("usr/share/pkg%d/link%d", i/100, i), Typeflag: tar.TypeLink, Linkname: target}
		default:
			h = tar.Header{Name: fmt.Sprintf("usr/share/pkg%d/file%d", i/100, i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(i % 41)}
		}
		h.ModTime = time.Unix(1700000000, 0)
		if err := tw.WriteHeader(&h); err != nil {
			tb.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write(content[:h.Size])
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	l, err := tarball.LayerFromFile(gzPath)
	if err != nil {
		tb.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		tb.Fatal(err)
	}
	os.Remove(gzPath)
}

// memPeak samples, until stop is called, the Go heap in use (live objects
// and garbage not yet collected) and the live heap as of the last GC, and
// returns the largest values seen.
func memPeak() (stop func() (inuse, live uint64)) {
	var peakInuse, peakLive uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			runtime.ReadMemStats(&ms)
			metrics.Read(sample)
			peakInuse = max(peakInuse, ms.HeapInuse)
			peakLive = max(peakLive, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() (uint64, uint64) { close(done); wg.Wait(); return peakInuse, peakLive }
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes, or 0
// where /proc does not tell.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// overlayInMemoryMax is the index.DB.OverlayInMemoryMax BenchmarkScanBigLayer
// scans with: AUDITOR_BENCH_OVERLAY_MAX, 0 (the default) if unset; -1 sends
// every image through the path-order visibility, a large value keeps them
// all in memory (the way before it existed).
func overlayInMemoryMax(tb testing.TB) int64 {
	s := os.Getenv("AUDITOR_BENCH_OVERLAY_MAX")
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		tb.Fatalf("AUDITOR_BENCH_OVERLAY_MAX: %v", err)
	}
	return n
}

// BenchmarkScanBigLayer scans, into an empty index, an OCI layout holding one
// layer of a million small entries (AUDITOR_BENCH_ENTRIES), and reports the
// entries stored per second and the peaks, during the scan, of the Go heap
// in use, of the live Go heap, and of the process's resident set (which
// also counts SQLite's page cache and sorter; run it alone, one iteration:
// -bench ScanBigLayer -benchtime 1x). The image's visibility is computed in
// path order unless AUDITOR_BENCH_OVERLAY_MAX says otherwise.
func BenchmarkScanBigLayer(b *testing.B) {
	n := bigLayerEntries(b)
	dir := b.TempDir()
	writeBigLayout(b, dir, n)
	target, err := crawl.ParseTarget("oci:" + filepath.Join(dir, "oci"))
	if err != nil {
		b.Fatal(err)
	}
	var inuse, live uint64
	var elapsed time.Duration
	i := 0
	for b.Loop() {
		i++
		db, err := index.Open(context.Background(), filepath.Join(dir, fmt.Sprintf("big%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		db.OverlayInMemoryMax = overlayInMemoryMax(b)
		var errs []auditor.ScanError
		cr, err := crawl.New(db, crawl.Options{OnError: func(e auditor.ScanError) { errs = append(errs, e) }})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		stop := memPeak()
		start := time.Now()
		if err := cr.Scan(context.Background(), []crawl.Target{target}); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		in, li := stop()
		inuse, live = max(inuse, in), max(live, li)
		if len(errs) > 0 {
			b.Fatalf("scan errors: %+v", errs)
		}
		var got int
		if err := db.Reader().QueryRow(`SELECT entries FROM layers`).Scan(&got); err != nil || got != n {
			b.Fatalf("layer stored with %d entries (%v), want %d", got, err, n)
		}
		db.Close()
	}
	b.ReportMetric(float64(inuse)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(live)/(1<<20), "peak-live-MB")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(n)*float64(i)/elapsed.Seconds(), "entries/s")
}
