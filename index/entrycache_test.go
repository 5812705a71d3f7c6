package index

import (
	"fmt"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/overlay"
)

func TestEntryCacheBound(t *testing.T) {
	c := newEntryCache()
	put := func(k layerKey, n int) { c.put(k, nil, n) }
	put(layerKey{1, 1}, entryCacheMax/4)
	put(layerKey{2, 100}, entryCacheMax/4)
	put(layerKey{3, 200}, entryCacheMax/4)
	if _, ok := c.get(layerKey{1, 1}); !ok { // now the most recently used
		t.Fatal("layer 1 missing")
	}
	put(layerKey{4, 300}, entryCacheMax/4)
	put(layerKey{5, 400}, entryCacheMax/4) // over the bound: drops layer 2, the least recently used
	if c.n > entryCacheMax {
		t.Errorf("holds %d bytes, bound %d", c.n, entryCacheMax)
	}
	if _, ok := c.get(layerKey{2, 100}); ok {
		t.Error("least recently used layer kept")
	}
	for _, k := range []layerKey{{1, 1}, {5, 400}} {
		if _, ok := c.get(k); !ok {
			t.Errorf("layer %v dropped", k)
		}
	}
	put(layerKey{6, 500}, entryCacheMax/2+1) // too big to keep
	if _, ok := c.get(layerKey{6, 500}); ok {
		t.Error("oversized layer kept")
	}
	if _, ok := c.get(layerKey{1, 2}); ok {
		t.Error("a layer stored again under new entry ids must not hit")
	}
}

// TestEntryCacheChargesNames: a layer's charge grows with its paths' bytes,
// so layers of long names (crafted: 4 KiB each, the most a tar name may
// have) fill the cache's bytes, not 1<<19 entries' worth of them.
func TestEntryCacheChargesNames(t *testing.T) {
	c := newEntryCache()
	long := "/" + strings.Repeat("n", 4095)
	for i := range 64 {
		l := make([]OverlayEntry, 1000)
		for j := range l {
			l[j] = OverlayEntry{ID: int64(j), Path: long, Type: TypeFile}
		}
		c.put(layerKey{int64(i), 1}, l, overlay.EntriesCharge(l, overlayEntryBytes))
	}
	var paths int
	for _, el := range c.items {
		for _, e := range el.Value.(*lruItem[layerKey, []OverlayEntry]).val {
			paths += len(e.Path)
		}
	}
	if paths > entryCacheMax || c.n > entryCacheMax {
		t.Errorf("the cache holds %d bytes of paths (charged %d), bound %d", paths, c.n, entryCacheMax)
	}
	if len(c.items) == 0 {
		t.Error("no layer kept")
	}
}

// TestIDCacheChargesKeys: the writer's path id cache is bounded by its
// keys' bytes too: 4 KiB paths (crafted) do not fill it to its key count.
func TestIDCacheChargesKeys(t *testing.T) {
	c := newIDCache()
	pad := strings.Repeat("p", 4090)
	for i := range 40_000 {
		c.put(fmt.Sprintf("/%05d", i)+pad, int64(i))
	}
	var held int
	for _, m := range []map[string]int64{c.young, c.old} {
		for k := range m {
			held += len(k)
		}
	}
	if held > cacheKeyBytes {
		t.Errorf("holds %d bytes of keys, bound %d", held, cacheKeyBytes)
	}
	if _, ok := c.get(fmt.Sprintf("/%05d", 39_999) + pad); !ok {
		t.Error("the last key put is not kept")
	}
}
