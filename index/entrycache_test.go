package index

import "testing"

func TestEntryCacheBound(t *testing.T) {
	c := newEntryCache()
	layer := func(n int) []OverlayEntry { return make([]OverlayEntry, n) }
	c.put(layerKey{1, 1}, layer(entryCacheMax/4))
	c.put(layerKey{2, 100}, layer(entryCacheMax/4))
	c.put(layerKey{3, 200}, layer(entryCacheMax/4))
	if _, ok := c.get(layerKey{1, 1}); !ok { // now the most recently used
		t.Fatal("layer 1 missing")
	}
	c.put(layerKey{4, 300}, layer(entryCacheMax/4))
	c.put(layerKey{5, 400}, layer(entryCacheMax/4)) // over the bound: drops layer 2, the least recently used
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
	c.put(layerKey{6, 500}, layer(entryCacheMax/2+1)) // too big to keep
	if _, ok := c.get(layerKey{6, 500}); ok {
		t.Error("oversized layer kept")
	}
	if _, ok := c.get(layerKey{1, 2}); ok {
		t.Error("a layer stored again under new entry ids must not hit")
	}
}
