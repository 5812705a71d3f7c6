package index_test

import (
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/overlay"
)

// BenchmarkOverlay measures the visibility computation for one image of
// realistic size: a base, a language runtime, an application layer and a
// tag layer with whiteouts and an opaque directory (~37k entries), and, for
// scale, a stack of 12 such application and tag layers on the same base.
func BenchmarkOverlay(b *testing.B) {
	s := benchSpec
	toOverlay := func(layers ...*auditor.Layer) [][]overlay.Entry {
		var out [][]overlay.Entry
		id := int64(0)
		for _, l := range layers {
			es := make([]overlay.Entry, len(l.Entries))
			for i, e := range l.Entries {
				id++
				es[i] = overlay.Entry{ID: id, Path: e.Path, Type: e.Type}
			}
			out = append(out, es)
		}
		return out
	}
	deep := []*auditor.Layer{s.BaseLayer(0), s.StackLayer(0)}
	for a := range 5 {
		deep = append(deep, s.AppLayer(a*5), s.TagLayer(a*5, 1))
	}
	cases := []struct {
		name   string
		layers [][]overlay.Entry
	}{
		{"image", toOverlay(s.BaseLayer(0), s.StackLayer(0), s.AppLayer(0), s.TagLayer(0, 1))},
		{"12-layers", toOverlay(deep...)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			for _, l := range c.layers {
				n += len(l)
			}
			var hidden int
			for b.Loop() {
				h, _, _ := overlay.Compute(c.layers)
				hidden = len(h)
			}
			b.ReportMetric(float64(n), "entries/op")
			b.ReportMetric(float64(hidden), "hidden/op")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
