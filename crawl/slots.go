package crawl

import (
	"container/heap"
	"context"
	"sync"
)

// slots bounds how many layers are read at once, and hands a free slot to
// the biggest layer waiting. A scan ends when its longest layer does, and
// one compressed stream is decompressed on one core: started last, the
// biggest layer of a fleet leaves the other cores idle at the end. Waiters
// of the same size are served in arrival order.
type slots struct {
	mu      sync.Mutex
	free    int
	waiting waitHeap
	arrival int64
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire waits for a slot for a layer of size bytes (bigger first), or
// until ctx is done.
func (s *slots) acquire(ctx context.Context, size int64) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiting) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	s.arrival++
	w := &waiter{size: size, arrival: s.arrival, ready: make(chan struct{})}
	heap.Push(&s.waiting, w)
	s.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		select {
		case <-w.ready:
			// Granted while giving up: pass the slot on.
			s.mu.Unlock()
			s.release()
		default:
			heap.Remove(&s.waiting, w.index)
			s.mu.Unlock()
		}
		return ctx.Err()
	}
}

// release frees a slot, handing it to the biggest waiting layer.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiting) == 0 {
		s.free++
		return
	}
	w := heap.Pop(&s.waiting).(*waiter)
	close(w.ready)
}

type waiter struct {
	size, arrival int64
	index         int
	ready         chan struct{}
}

// waitHeap is a max-heap by size, then a min-heap by arrival.
type waitHeap []*waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].size != h[j].size {
		return h[i].size > h[j].size
	}
	return h[i].arrival < h[j].arrival
}
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waitHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return w
}
