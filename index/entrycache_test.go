package index

import "testing"

func TestEntryCacheBound(t *testing.T) {
	c := newEntryCache()
	put := func(k layerKey, n int) { c.put(k, make([]OverlayEntry, n), n) }
	put(layerKey{1, 1}, entryCacheMax/4)
	put(layerKey{2, 100}, entryCacheMax/4)
	put(layerKey{3, 200}, entryCacheMax/4)
	if _, ok := c.get(layerKey{1, 1}); !ok { // now the most recently used
		t.Fatal("layer 1 missing")
	}
	put(layerKey{4, 300}, entryCacheMax/4)
	put(layerKey{5, 400}, entryCacheMax/4) // over the bound: drops layer 2, the least recently used
	if c.n > entryCacheMax {
		t.Errorf("holds %d entries, bound %d", c.n, entryCacheMax)
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
