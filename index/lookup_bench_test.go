package index_test

import (
	"context"
	"testing"

	"github.com/auditor-dev/auditor/bench/probe"
)

// BenchmarkLookup measures `auditor find` queries (bench/probe's SQL over the
// image_files view) on an index of ~125k file rows in 40 images, built
// through the writer once for all sub-benchmarks. The 10M-row figures come
// from bench/bigindex + bench/lookup; this tracks the same queries per change.
func BenchmarkLookup(b *testing.B) {
	ctx := context.Background()
	db := openBenchDB(b)
	s := benchSpec
	s.Bases, s.Stacks, s.Apps = 2, 2, 20
	if _, err := s.Generate(ctx, db, nil); err != nil {
		b.Fatal(err)
	}
	var sha string
	for _, e := range s.BaseLayer(0).Entries {
		if e.Path == "/usr/bin/passwd" {
			sha = e.SHA256
		}
	}
	queries := []probe.Query{
		probe.Find("/usr/bin/passwd"),
		probe.Find("sha256:" + sha),
		probe.Find("/usr/lib/x86_64-linux-gnu/libcore*"),
		probe.Find("*/authorized_keys"),
		probe.Rules[0],
	}
	for _, q := range queries {
		b.Run(q.Key, func(b *testing.B) {
			var rows int64
			for b.Loop() {
				n, err := probe.Run(ctx, db.Reader(), q)
				if err != nil {
					b.Fatal(err)
				}
				rows = n
			}
			b.ReportMetric(float64(rows), "rows/op")
		})
	}
}
