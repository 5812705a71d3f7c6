package overlay_test

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/auditor-dev/auditor/internal/overlaytest"
	. "github.com/auditor-dev/auditor/overlay"
)

func checkOverlayByPath(t *testing.T, layers [][]Entry) {
	t.Helper()
	hidden, moved, inodes := Compute(layers)
	want := NewVisibility(hidden, moved, inodes)
	gotHidden, gotMoved, gotInodes, err := ByPath(layers)
	if err != nil {
		t.Fatal(err)
	}
	got := NewVisibility(gotHidden, gotMoved, gotInodes)
	if !got.Equal(want) {
		var b bytes.Buffer
		for pos, l := range layers {
			fmt.Fprintf(&b, "layer %d:", pos)
			for _, e := range l {
				fmt.Fprintf(&b, " %d:%s:%s", e.ID, e.Type, e.Path)
				if e.Link != "" {
					fmt.Fprintf(&b, "->%s", e.Link)
				}
			}
			b.WriteByte('\n')
		}
		t.Fatalf("path-order overlay differs from Overlay on\n%s got  %v\nwant %v", b.String(), got, want)
	}
}

// TestOverlayByPathRandom compares the path-order computation with Compute
// on random layer stacks.
func TestOverlayByPathRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 200)
	for range 20000 {
		for i := range buf {
			buf[i] = byte(r.UintN(256))
		}
		checkOverlayByPath(t, overlaytest.LayersFromBytes(buf))
	}
}
func FuzzOverlayByPath(f *testing.F) {
	f.Add([]byte{3, 4, 1, 1, 0, 1, 2, 1, 0, 1, 5, 2, 1, 0, 0, 3, 2, 1, 2, 3, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkOverlayByPath(t, overlaytest.LayersFromBytes(data))
	})
}

// sortedVis is Compute's output in a fixed order (hideTree walks maps).
func sortedVis(hs []Hidden, ms []Moved, is []Inode) Visibility {
	hs = slices.Clone(hs)
	slices.SortFunc(hs, func(a, b Hidden) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Pos, b.Pos), cmp.Compare(a.By, b.By), cmp.Compare(a.How, b.How))
	})
	v := NewVisibility(nil, slices.Clone(ms), slices.Clone(is))
	v.Hidden = hs
	return v
}

// TestOverlayTreeRollback builds the tree of random lower layers once, then
// lays several random top layers over it in turn, rolling each back: each
// must hide what Compute computes from scratch for that stack, and after a
// rollback the tree must hide only what the lower layers hide.
func TestOverlayTreeRollback(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, 200)
	random := func() [][]Entry {
		for i := range buf {
			buf[i] = byte(r.UintN(256))
		}
		return overlaytest.LayersFromBytes(buf)
	}
	rolledBack := 0
	for range 5000 {
		below := random()
		tree := NewTree()
		for pos, l := range below {
			tree.Apply(pos, l)
		}
		want := sortedVis(Compute(below))
		for range 3 {
			top := random()[0]
			m := tree.Mark()
			tree.Apply(len(below), top)
			stack := append(slices.Clone(below), top)
			if got, want := sortedVis(tree.Result()), sortedVis(Compute(stack)); !got.Equal(want) {
				t.Fatalf("top layer %v over %v: got %v, want %v", top, below, got, want)
			}
			if tree.UndoLen() > 0 {
				rolledBack++
			}
			tree.Rollback(m)
			if got := sortedVis(tree.Result()); !got.Equal(want) {
				t.Fatalf("after rolling back %v over %v: got %v, want %v", top, below, got, want)
			}
		}
	}
	if rolledBack < 5000 {
		t.Fatalf("only %d top layers changed the tree: the test proves little", rolledBack)
	}
}
