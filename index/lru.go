package index

import (
	"container/list"
	"sync"
)

// sizedLRU keeps values, each of a size (the bytes it costs), up to max in
// all, dropping the least recently used beyond; a value larger than half
// of max is not kept. It is safe for concurrent use, and a nil *sizedLRU
// keeps nothing.
type sizedLRU[K comparable, V any] struct {
	max   int
	mu    sync.Mutex
	lru   *list.List // of *lruItem[K, V], most recently used first
	items map[K]*list.Element
	n     int // the sizes held
}

type lruItem[K comparable, V any] struct {
	key  K
	val  V
	size int
}

func newSizedLRU[K comparable, V any](max int) *sizedLRU[K, V] {
	return &sizedLRU[K, V]{max: max, lru: list.New(), items: map[K]*list.Element{}}
}

// get returns the value kept for k, now the most recently used.
func (c *sizedLRU[K, V]) get(k K) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return zero, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*lruItem[K, V]).val, true
}

// take removes and returns the value kept for k, with its size.
func (c *sizedLRU[K, V]) take(k K) (V, int, bool) {
	var zero V
	if c == nil {
		return zero, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return zero, 0, false
	}
	it := el.Value.(*lruItem[K, V])
	c.lru.Remove(el)
	delete(c.items, k)
	c.n -= it.size
	return it.val, it.size, true
}

// put keeps v, of the given size, for k (unless k is kept already).
func (c *sizedLRU[K, V]) put(k K, v V, size int) {
	if c == nil || size > c.max/2 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; ok {
		return
	}
	c.items[k] = c.lru.PushFront(&lruItem[K, V]{k, v, size})
	c.n += size
	for c.n > c.max {
		el := c.lru.Back()
		it := el.Value.(*lruItem[K, V])
		c.lru.Remove(el)
		delete(c.items, it.key)
		c.n -= it.size
	}
}

// clear drops everything.
func (c *sizedLRU[K, V]) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	clear(c.items)
	c.n = 0
}
