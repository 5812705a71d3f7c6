package crawl

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// waitQueued waits until n acquirers wait in s.
func waitQueued(t *testing.T, s *slots, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		got := len(s.waiting)
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSlotsBiggestFirst(t *testing.T) {
	ctx := context.Background()
	s := newSlots(1)
	if err := s.acquire(ctx, 1); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int64
	var wg sync.WaitGroup
	for i, size := range []int64{10, 300, 20, 300, 5} {
		wg.Go(func() {
			if err := s.acquire(ctx, size); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, size*10+int64(i)) // size, then arrival
			mu.Unlock()
			s.release()
		})
		waitQueued(t, s, i+1) // arrivals in this order
	}
	s.release()
	wg.Wait()
	want := []int64{3001, 3003, 202, 100, 54}
	if !slices.Equal(order, want) {
		t.Errorf("served %v, want %v (biggest first, then in arrival order)", order, want)
	}
	if s.free != 1 || len(s.waiting) != 0 {
		t.Errorf("after all releases: %d free, %d waiting; want 1, 0", s.free, len(s.waiting))
	}
}

func TestSlotsCancelled(t *testing.T) {
	s := newSlots(1)
	if err := s.acquire(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- s.acquire(ctx, 100) }()
	waitQueued(t, s, 1)
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("acquire after cancel returned nil")
	}
	if len(s.waiting) != 0 {
		t.Fatalf("a cancelled acquirer still waits")
	}
	s.release()
	if s.free != 1 {
		t.Fatalf("%d free slots after the release, want 1", s.free)
	}
	if err := s.acquire(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
}
