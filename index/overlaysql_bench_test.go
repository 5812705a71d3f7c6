package index_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
)

// BenchmarkVisibility measures PutImage for an image of 12 stored layers
// (~70k entries: a base, a runtime, five application and tag layer pairs
// with whiteouts and an opaque directory), with visibility computed in
// memory and in path order through SQLite's sorter, in entries per second.
func BenchmarkVisibility(b *testing.B) {
	s := benchSpec
	layers := []*auditor.Layer{s.BaseLayer(0), s.StackLayer(0)}
	for a := range 5 {
		layers = append(layers, s.AppLayer(a*5), s.TagLayer(a*5, 1))
	}
	for _, mode := range []struct {
		name string
		max  int64
	}{{"in-memory", 0}, {"path-order", -1}} {
		b.Run(mode.name, func(b *testing.B) {
			db := openBenchDB(b)
			db.OverlayInMemoryMax = mode.max
			index.KeepNoPrefixes(db) // the same layers each time: compute them all
			var digests []string
			entries := 0
			for _, l := range layers {
				digests = append(digests, putLayer(b, db, l))
				entries += len(l.Entries)
			}
			i := 0
			for b.Loop() {
				i++
				img := &auditor.Image{Digest: fmt.Sprintf("sha256:%064x", i), MediaType: "application/vnd.oci.image.manifest.v1+json", Layers: digests}
				if err := db.PutImage(context.Background(), auditor.Repo{Registry: "r", Name: "deep"}, "", img); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(entries), "entries/op")
			b.ReportMetric(float64(entries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
