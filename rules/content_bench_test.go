package rules

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

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
		name string
		cm   crawl.ContentMatcher
	}{{"plain", nil}, {"patterns", m}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(blob)))
			for b.Loop() {
				l, err := crawl.ReadLayer(context.Background(), bytes.NewReader(blob), crawl.LayerInput{Digest: digest, Content: tc.cm}, crawl.Limits{})
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
