package scanners

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/internal/fleettest"
)

func fleetBlob(b *testing.B, prefix string) (string, []byte) {
	b.Helper()
	dir := filepath.Join(fleettest.StorageDir(b), "blobs", "sha256", prefix[:2])
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		if len(e.Name()) == 64 && e.Name()[:len(prefix)] == prefix {
			data, err := os.ReadFile(filepath.Join(dir, e.Name(), "data"))
			if err != nil {
				b.Fatal(err)
			}
			return "sha256:" + e.Name(), data
		}
	}
	b.Fatalf("no blob %s in the fleet registry", prefix)
	return "", nil
}

// BenchmarkReadLayerContent reads the Debian base layer with and without the
// default content patterns; compare the two ns/op (target: < 15% more).
func BenchmarkReadLayerContent(b *testing.B) {
	digest, blob := fleetBlob(b, "1660d00e467f")
	m, err := NewMatcher(DefaultPatterns(), 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		scanners []crawl.LayerScanner
	}{{"plain", nil}, {"patterns", []crawl.LayerScanner{m}}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(blob)))
			for b.Loop() {
				l, err := crawl.ReadLayer(context.Background(), bytes.NewReader(blob), crawl.LayerInput{Digest: digest, Scanners: tc.scanners}, crawl.Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if len(l.Entries) != 4247 {
					b.Fatalf("%d entries", len(l.Entries))
				}
			}
		})
	}
}

// BenchmarkContentOverhead alternates reads of the Debian base layer with
// and without the default patterns, so both see the same machine load, and
// reports the patterns' extra cost in wall time and in process CPU time
// (the figure to hold under 15%).
func BenchmarkContentOverhead(b *testing.B) {
	digest, blob := fleetBlob(b, "1660d00e467f")
	m, err := NewMatcher(DefaultPatterns(), 0)
	if err != nil {
		b.Fatal(err)
	}
	read := func(scanners ...crawl.LayerScanner) (time.Duration, time.Duration) {
		cpu0, t0 := fleettest.CPUTime(b), time.Now()
		if _, err := crawl.ReadLayer(context.Background(), bytes.NewReader(blob), crawl.LayerInput{Digest: digest, Scanners: scanners}, crawl.Limits{}); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0), fleettest.CPUTime(b) - cpu0
	}
	var wallPlain, wallPat, cpuPlain, cpuPat time.Duration
	for b.Loop() {
		w, c := read()
		wallPlain, cpuPlain = wallPlain+w, cpuPlain+c
		w, c = read(m)
		wallPat, cpuPat = wallPat+w, cpuPat+c
	}
	b.ReportMetric(100*(float64(wallPat)/float64(wallPlain)-1), "%wall-overhead")
	b.ReportMetric(100*(float64(cpuPat)/float64(cpuPlain)-1), "%cpu-overhead")
}

// BenchmarkPackagesOverhead alternates reads of the Debian base layer with
// the default content patterns alone and with the package scanner too
// (with and without the md5 and sha1 of package-managed files), and
// reports the package scanner's extra process CPU time.
func BenchmarkPackagesOverhead(b *testing.B) {
	digest, blob := fleetBlob(b, "1660d00e467f")
	m, err := NewMatcher(DefaultPatterns(), 0)
	if err != nil {
		b.Fatal(err)
	}
	// A new scanner for each read: one remembers the digests it computed.
	full := func() crawl.LayerScanner { p, _ := NewPackages(PackagesOptions{}); return p }
	noDigests := func() crawl.LayerScanner { p, _ := NewPackages(PackagesOptions{NoDigests: true}); return p }
	read := func(scanners ...crawl.LayerScanner) time.Duration {
		cpu0 := fleettest.CPUTime(b)
		if _, err := crawl.ReadLayer(context.Background(), bytes.NewReader(blob), crawl.LayerInput{Digest: digest, Scanners: scanners}, crawl.Limits{}); err != nil {
			b.Fatal(err)
		}
		return fleettest.CPUTime(b) - cpu0
	}
	var base, withFull, withCaptures time.Duration
	for b.Loop() {
		base += read(m)
		withFull += read(m, full())
		withCaptures += read(m, noDigests())
	}
	b.ReportMetric(100*(float64(withFull)/float64(base)-1), "%cpu-packages")
	b.ReportMetric(100*(float64(withCaptures)/float64(base)-1), "%cpu-captures-only")
}

// BenchmarkPackagesColdScan alternates cold scans of the fleet registry into
// new indexes, with the default content patterns alone and with the package
// scanner too (with the digests, and without), and reports the package
// scanner's extra process CPU time.
func BenchmarkPackagesColdScan(b *testing.B) {
	reg := fleettest.Registry(b)
	m, err := NewMatcher(DefaultPatterns(), 0)
	if err != nil {
		b.Fatal(err)
	}
	// A new scanner for each scan: one remembers the digests it computed.
	pk := func() crawl.LayerScanner { p, _ := NewPackages(PackagesOptions{}); return p }
	noDigests := func() crawl.LayerScanner { p, _ := NewPackages(PackagesOptions{NoDigests: true}); return p }
	dir := b.TempDir()
	i := 0
	scan := func(scanners ...crawl.LayerScanner) time.Duration {
		i++
		opts := fleettest.Options(b)
		opts.Scanners = scanners
		cpu0 := fleettest.CPUTime(b)
		if err := fleettest.Scan(context.Background(), filepath.Join(dir, fmt.Sprintf("%d.db", i)), opts, reg); err != nil {
			b.Fatal(err)
		}
		return fleettest.CPUTime(b) - cpu0
	}
	var base, with, captures time.Duration
	for b.Loop() {
		base += scan(m)
		with += scan(m, pk())
		captures += scan(m, noDigests())
	}
	b.ReportMetric(100*(float64(with)/float64(base)-1), "%cpu-packages")
	b.ReportMetric(100*(float64(captures)/float64(base)-1), "%cpu-captures-only")
}
