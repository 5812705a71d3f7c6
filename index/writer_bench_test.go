package index_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/bench/synth"
	"github.com/auditor-dev/auditor/index"
)

// benchSpec is the synthetic fleet the index benchmarks draw from (see
// bench/synth): 20k-entry runtime layers, 2.5k-entry application layers that
// share dependency paths and contents, per-tag layers with whiteouts.
var benchSpec = synth.Scaled(10_000_000)

func openBenchDB(b *testing.B) *index.DB {
	b.Helper()
	db, err := index.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkPutLayer measures the writer in file rows per second: each
// operation stores one new layer (its paths and contents partly known
// already, as in a real scan). "runtime" layers are 20k entries with mostly
// new paths; "app" layers 2.5k entries whose dependency paths recur.
func BenchmarkPutLayer(b *testing.B) {
	for _, kind := range []string{"runtime", "app"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			db := openBenchDB(b)
			var rows int64
			i := 0
			for b.Loop() {
				b.StopTimer()
				var l *auditor.Layer
				if kind == "runtime" {
					l = benchSpec.StackLayer(i % benchSpec.Stacks)
				} else {
					l = benchSpec.AppLayer(i % benchSpec.Apps)
				}
				i++
				b.StartTimer()
				if err := db.PutLayer(ctx, l); err != nil {
					b.Fatal(err)
				}
				rows += int64(len(l.Entries))
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
		})
	}
}

// BenchmarkPutImage measures storing one image (layer map, history, and the
// visibility computation over all its layers' entries, ~35k here) whose
// layers are already stored: "new-application" images each have their own
// application layer over a few shared base and runtime layers, so each
// computes its visibility over all its layers; "application-tags" images
// are tags of one application, which differ in their top layer only, so
// each lays its top layer over the tree kept of the layers below.
func BenchmarkPutImage(b *testing.B) {
	for _, sameApp := range []bool{false, true} {
		name := "new-application"
		if sameApp {
			name = "application-tags"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			db := openBenchDB(b)
			s := benchSpec
			s.Bases, s.Stacks = 2, 2 // every image on the same few shared layers
			s.Tags = 1 << 20
			size := map[string]int{} // layer digest -> entries
			for i := range s.Bases {
				size[putLayer(b, db, s.BaseLayer(i))] = len(s.BaseLayer(i).Entries)
			}
			for i := range s.Stacks {
				size[putLayer(b, db, s.StackLayer(i))] = len(s.StackLayer(i).Entries)
			}
			size[putLayer(b, db, s.AppLayer(0))] = len(s.AppLayer(0).Entries)
			n := 0
			var entries int64
			for b.Loop() {
				b.StopTimer()
				n++
				a, t := n, 1
				if sameApp {
					a, t = 0, n
				} else {
					size[putLayer(b, db, s.AppLayer(a))] = len(s.AppLayer(a).Entries)
				}
				l := s.TagLayer(a, t)
				size[putLayer(b, db, l)] = len(l.Entries)
				_, img := s.Image(a, t)
				b.StartTimer()
				if err := db.PutImage(ctx, s.Repo(a), "", img); err != nil {
					b.Fatal(err)
				}
				for _, d := range img.Layers {
					entries += int64(size[d])
				}
			}
			b.ReportMetric(float64(entries)/float64(b.N), "entries/op")
		})
	}
}

func putLayer(b *testing.B, db *index.DB, l *auditor.Layer) string {
	b.Helper()
	if err := db.PutLayer(context.Background(), l); err != nil {
		b.Fatal(err)
	}
	return l.Digest
}
