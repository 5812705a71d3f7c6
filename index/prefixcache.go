package index

import (
	"container/list"
	"encoding/binary"
	"sync"
)

// prefixCacheMax bounds the entries, over all kept prefixes, whose overlay
// trees the prefix cache keeps (each also charged the top layer laid over
// it last, at most as large: what it grew in the tree's maps stays): a tree
// costs some 70 bytes per entry beyond the entries themselves, so about
// 9 MB at most.
const prefixCacheMax = 1 << 17

// prefixCache keeps the overlay trees of the layers images share below
// their top layer (an image's layers but its last), so that the tags of one
// application, which differ in their top layer, compute the visibility of
// their shared layers once. A tree is taken out while it is in use, so two
// callers never share one. A nil *prefixCache keeps nothing.
type prefixCache struct {
	mu    sync.Mutex
	lru   *list.List // of *prefixItem, most recently used first
	items map[string]*list.Element
	n     int // entries held
}

type prefixItem struct {
	key     string
	tree    *overlayTree
	entries int
}

func newPrefixCache() *prefixCache {
	return &prefixCache{lru: list.New(), items: map[string]*list.Element{}}
}

// prefixKey names a stack of stored layers.
func prefixKey(spans []layerSpan) string {
	b := make([]byte, 0, len(spans)*2*binary.MaxVarintLen64)
	for _, s := range spans {
		b = binary.AppendVarint(b, s.id)
		b = binary.AppendVarint(b, s.first)
	}
	return string(b)
}

// clear drops every tree.
func (c *prefixCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	clear(c.items)
	c.n = 0
}

// take removes and returns the tree kept for key, with its entry count.
func (c *prefixCache) take(key string) (*overlayTree, int) {
	if c == nil {
		return nil, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, 0
	}
	it := el.Value.(*prefixItem)
	c.lru.Remove(el)
	delete(c.items, key)
	c.n -= it.entries
	return it.tree, it.entries
}

// put keeps tree, the overlay of entries entries, for key, dropping the
// least recently used trees beyond prefixCacheMax; a tree larger than half
// the bound is not kept.
func (c *prefixCache) put(key string, tree *overlayTree, entries int) {
	if c == nil || entries > prefixCacheMax/2 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	c.items[key] = c.lru.PushFront(&prefixItem{key, tree, entries})
	c.n += entries
	for c.n > prefixCacheMax {
		el := c.lru.Back()
		it := el.Value.(*prefixItem)
		c.lru.Remove(el)
		delete(c.items, it.key)
		c.n -= it.entries
	}
}
