package index

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// sortHidden sorts hidden entries by position and id (each is hidden once).
func sortHidden(hs []Hidden) []Hidden {
	slices.SortFunc(hs, func(a, b Hidden) int { return cmp.Or(cmp.Compare(a.Pos, b.Pos), cmp.Compare(a.ID, b.ID)) })
	return hs
}

// layersFromBytes decodes fuzz input into a layer stack over a small set of
// paths that share prefixes ("/a/b", "/a/b-x", "/a/b/c", ...), with every
// entry type (symlinks to paths of the set, relative or absolute), duplicates within a layer and layers listed twice. Entry ids
// grow in tar order within a layer, but layers' id ranges are not in
// position order, as in a real index.
func layersFromBytes(data []byte) [][]OverlayEntry {
	names := []string{"a", "b", "b-x", "c", "b.d", "b\x01", "b c", "é"}
	// Symlink targets: relative, absolute, climbing above the root, to a
	// sibling that shares a prefix, to themselves.
	links := []string{"a", "b", "/a/b", "../c", "../../..", "/", ".", "b-x/", "c/../b", "/b c/a", ""}
	types := []EntryType{TypeFile, TypeDir, TypeDir, TypeSymlink, TypeHardlink, TypeWhiteout, TypeOpaque, TypeChar, TypeFile, TypeDir}
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	nLayers := next()%5 + 1
	var layers [][]OverlayEntry
	base := int64(1000)
	for range nLayers {
		if len(layers) > 0 && next()%8 == 0 { // a layer listed again
			layers = append(layers, layers[next()%len(layers)])
			continue
		}
		base -= 100 // later layers get lower ids
		n := next() % 12
		var l []OverlayEntry
		for i := range n {
			depth := next() % 4
			p := ""
			for range depth {
				p += "/" + names[next()%len(names)]
			}
			if p == "" {
				p = "/"
			}
			e := OverlayEntry{ID: base + int64(i), Path: p, Type: types[next()%len(types)]}
			if e.Type == TypeSymlink || e.Type == TypeHardlink {
				e.Link = links[next()%len(links)]
			}
			l = append(l, e)
		}
		layers = append(layers, l)
	}
	return layers
}

func checkOverlayByPath(t *testing.T, layers [][]OverlayEntry) {
	t.Helper()
	hidden, moved, inodes := Overlay(layers)
	want := Visibility{sortHidden(hidden), sortMoved(moved), sortInodes(inodes)}
	gotHidden, gotMoved, gotInodes, err := overlayByPath(layers)
	if err != nil {
		t.Fatal(err)
	}
	got := Visibility{sortHidden(gotHidden), sortMoved(gotMoved), sortInodes(gotInodes)}
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

// TestOverlayByPathRandom compares the path-order computation with Overlay
// on random layer stacks.
func TestOverlayByPathRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 200)
	for range 20000 {
		for i := range buf {
			buf[i] = byte(r.UintN(256))
		}
		checkOverlayByPath(t, layersFromBytes(buf))
	}
}

func FuzzOverlayByPath(f *testing.F) {
	f.Add([]byte{3, 4, 1, 1, 0, 1, 2, 1, 0, 1, 5, 2, 1, 0, 0, 3, 2, 1, 2, 3, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkOverlayByPath(t, layersFromBytes(data))
	})
}

func TestPathKeyOrder(t *testing.T) {
	paths := []string{"/", "/a", "/a/b", "/a/b/c", "/a/b/c/d", "/a/b\x01", "/a/b-x", "/a/b.d", "/a/bc", "/a\x00", "/a\x01/b", "/b"}
	keys := make([][]byte, len(paths))
	for i, p := range paths {
		keys[i] = pathKey(p)
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			t.Errorf("key of %q does not sort before key of %q", paths[i-1], paths[i])
		}
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{{"/", "/a", true}, {"/", "/", false}, {"/a", "/a/b", true}, {"/a", "/ab", false}, {"/a/b", "/a/b-x", false}, {"/a", "/a/b/c", true}, {"/a/b", "/a", false}, {"/a\x00", "/a\x00/b", true}, {"/a", "/a\x00/b", false}} {
		if got := isAncestorKey(pathKey(c.a), pathKey(c.b)); got != c.want {
			t.Errorf("isAncestorKey(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// TestOverlayByPathMemory checks that a path repeated a million times (a
// hostile layer) costs the path-order merge some 24 bytes an entry, not the
// hundreds a tree or a general record would.
func TestOverlayByPathMemory(t *testing.T) {
	const n = 1_000_000
	var live uint64
	emitted := 0
	o := newPathOverlay(func(Hidden) error {
		if emitted == 0 { // all the entries at /x are held now
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			live = ms.HeapAlloc
		}
		emitted++
		return nil
	})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range n {
		if err := o.add(pathEntry{key: pathKey("/x"), id: int64(i + 1), typ: TypeFile}); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.add(pathEntry{key: pathKey("/y"), id: n + 1, typ: TypeFile}); err != nil {
		t.Fatal(err)
	}
	if err := o.finish(); err != nil {
		t.Fatal(err)
	}
	if emitted != n-1 {
		t.Fatalf("%d entries hidden, want %d", emitted, n-1)
	}
	if grew := int64(live) - int64(before.HeapAlloc); grew > 48<<20 {
		t.Errorf("holding %d entries at one path took %d MB", n, grew>>20)
	}
}
