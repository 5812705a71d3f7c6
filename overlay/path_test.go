package overlay

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/auditor-dev/auditor"
)

func TestPathKeyOrder(t *testing.T) {
	paths := []string{"/", "/a", "/a/b", "/a/b/c", "/a/b/c/d", "/a/b\x01", "/a/b-x", "/a/b.d", "/a/bc", "/a\x00", "/a\x01/b", "/b"}
	keys := make([][]byte, len(paths))
	for i, p := range paths {
		keys[i] = PathKey(p)
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
		if got := isAncestorKey(PathKey(c.a), PathKey(c.b)); got != c.want {
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
		if err := o.add(pathEntry{key: PathKey("/x"), id: int64(i + 1), typ: auditor.TypeFile}); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.add(pathEntry{key: PathKey("/y"), id: n + 1, typ: auditor.TypeFile}); err != nil {
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
