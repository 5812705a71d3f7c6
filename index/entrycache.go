package index

import (
	"container/list"
	"sync"
)

// entryCacheMax bounds the entries the layer entry cache holds, across
// layers: about 90 bytes each (id, type and path), so some 45 MB at most.
const entryCacheMax = 1 << 19

// layerKey names a stored layer's entries: its row id and first entry id
// (a layer dropped and stored again gets new entry ids).
type layerKey struct{ id, first int64 }

// entryCache keeps the overlay entries of recently used layers, so that
// images sharing base layers, stored one after another in a scan, do not
// read those layers' entries back from SQLite each time. Stored layers never
// change, so entries are valid for as long as their key exists.
type entryCache struct {
	mu    sync.Mutex
	lru   *list.List // of *entryCacheItem, most recently used first
	items map[layerKey]*list.Element
	n     int // entries held
}

type entryCacheItem struct {
	key     layerKey
	entries []OverlayEntry
}

func newEntryCache() *entryCache {
	return &entryCache{lru: list.New(), items: map[layerKey]*list.Element{}}
}

// clear drops every layer's entries.
func (c *entryCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	clear(c.items)
	c.n = 0
}

func (c *entryCache) get(k layerKey) ([]OverlayEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*entryCacheItem).entries, true
}

// put remembers a layer's entries, dropping the least recently used layers
// beyond entryCacheMax; a layer larger than half the bound is not kept.
func (c *entryCache) put(k layerKey, entries []OverlayEntry) {
	if len(entries) > entryCacheMax/2 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; ok {
		return
	}
	c.items[k] = c.lru.PushFront(&entryCacheItem{k, entries})
	c.n += len(entries)
	for c.n > entryCacheMax {
		el := c.lru.Back()
		it := el.Value.(*entryCacheItem)
		c.lru.Remove(el)
		delete(c.items, it.key)
		c.n -= len(it.entries)
	}
}
