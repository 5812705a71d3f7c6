package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/internal/pgtest"
	"github.com/auditor-dev/auditor/postgres"
)

// TestQueueClaimLeaseFence drives the work queue of a shared scan on a
// real PostgreSQL: workers joining at once share one scan record; items
// are claimed once each by concurrent claimers (SKIP LOCKED); an image
// waits for its layers; a lapsed lease is taken over with a new epoch, and
// then the first claimer's layer commit, renewal and completion are
// refused (nothing of its layer stored) while the new claimer's commit
// stores the layer and marks the item done in the same transaction.
func TestQueueClaimLeaseFence(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	var dbs [3]*postgres.DB
	for i := range dbs {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	a, b, c := dbs[0], dbs[1], dbs[2]

	// Three workers join at once: one scan.
	var joined [3]postgres.SharedScan
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			s, err := db.JoinScan(ctx, "reg.example:5000", "test", map[string][]byte{"reg.example:5000": []byte("t")})
			if err != nil {
				t.Error(err)
			}
			joined[i] = s
		})
	}
	wg.Wait()
	created := 0
	for _, s := range joined {
		if s.ID != joined[0].ID || s.ID == 0 {
			t.Fatalf("joined scans %+v: not one", joined)
		}
		if s.Created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d workers recorded the scan, want 1", created)
	}
	scan := joined[0].ID

	// One planner at a time per registry, and once.
	started, release := make(chan struct{}), make(chan struct{})
	var ran bool
	wg.Add(1)
	go func() {
		var err error
		ran, err = a.RunPlan(ctx, scan, "reg.example:5000", func(context.Context) ([]byte, error) {
			close(started)
			<-release
			return []byte("stats"), nil
		})
		if err != nil {
			t.Error(err)
		}
		wg.Done()
	}()
	<-started
	if got, err := b.RunPlan(ctx, scan, "reg.example:5000", func(context.Context) ([]byte, error) { return nil, nil }); got || err != nil {
		t.Fatalf("a second planner ran beside the first: %v %v", got, err)
	}
	close(release)
	wg.Wait()
	if !ran {
		t.Fatal("the planner did not run")
	}
	if got, err := b.RunPlan(ctx, scan, "reg.example:5000", func(context.Context) ([]byte, error) { return nil, nil }); got || err != nil {
		t.Fatalf("a registry planned already was planned again: %v %v", got, err)
	}

	l1, l2 := digest('1'), digest('2')
	items := []postgres.NewWork{
		{Kind: postgres.WorkLayer, Key: l1, Payload: []byte("one")},
		{Kind: postgres.WorkLayer, Key: l2, Payload: []byte("two")},
		{Kind: postgres.WorkImage, Key: "team/app@" + digest('i'), Deps: []string{l1, l2}, Payload: []byte("img")},
	}
	for range 2 { // enqueued twice: once
		if err := a.Enqueue(ctx, scan, items); err != nil {
			t.Fatal(err)
		}
	}
	lease := time.Second
	w1, err := a.Claim(ctx, scan, "a", lease)
	if err != nil || w1 == nil || w1.Key != l1 || w1.Epoch != 1 {
		t.Fatalf("first claim: %+v %v", w1, err)
	}
	w2, err := b.Claim(ctx, scan, "b", time.Minute)
	if err != nil || w2 == nil || w2.Key != l2 {
		t.Fatalf("second claim: %+v %v", w2, err)
	}
	if w, err := c.Claim(ctx, scan, "c", time.Minute); w != nil || err != nil {
		t.Fatalf("claimed %+v (%v): the image's layers are not done, the layers are claimed", w, err)
	}

	// a's lease lapses; c takes the layer over.
	time.Sleep(lease + 200*time.Millisecond)
	w3, err := c.Claim(ctx, scan, "c", time.Minute)
	if err != nil || w3 == nil || w3.ID != w1.ID || w3.Epoch != w1.Epoch+1 || w3.Claims != 2 {
		t.Fatalf("takeover: %+v %v (first claim %+v)", w3, err, w1)
	}
	layer := &auditor.Layer{Digest: l1, Compression: "none", Entries: []auditor.Entry{{Path: "/a", Type: auditor.TypeFile, SHA256: digest('f')[7:]}}}
	write := func(db *postgres.DB, w *postgres.Work) error {
		lw, err := db.BeginFencedLayer(ctx, l1, 10, w, []byte("result"))
		if err != nil {
			return err
		}
		defer lw.Abort(ctx)
		for _, e := range layer.Entries {
			if err := lw.Add(ctx, e); err != nil {
				return err
			}
		}
		return lw.Commit(ctx, layer)
	}
	if err := write(a, w1); !errors.Is(err, postgres.ErrLeaseLost) {
		t.Fatalf("the stale claimer's layer commit: %v, want ErrLeaseLost", err)
	}
	if has, err := a.HasLayer(ctx, l1); has || err != nil {
		t.Fatalf("the refused layer is stored: %v %v", has, err)
	}
	if err := a.Renew(ctx, w1, lease); !errors.Is(err, postgres.ErrLeaseLost) {
		t.Fatalf("stale renewal: %v", err)
	}
	if err := a.Complete(ctx, w1, nil); !errors.Is(err, postgres.ErrLeaseLost) {
		t.Fatalf("stale completion: %v", err)
	}
	if err := c.Renew(ctx, w3, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := write(c, w3); err != nil {
		t.Fatal(err)
	}
	if has, err := a.HasLayer(ctx, l1); !has || err != nil {
		t.Fatalf("the taken-over layer is not stored: %v %v", has, err)
	}
	if err := c.Complete(ctx, w3, []byte("result")); err != nil { // settled by the commit already: idempotent
		t.Fatal(err)
	}
	if err := b.Fail(ctx, w2, "layer two: fetching blob: 500"); err != nil {
		t.Fatal(err)
	}
	img, err := a.Claim(ctx, scan, "a", time.Minute)
	if err != nil || img == nil || img.Kind != postgres.WorkImage || !slices.Equal(img.Deps, []string{l1, l2}) {
		t.Fatalf("image claim: %+v %v", img, err)
	}
	failed, err := a.FailedLayers(ctx, scan, img.Deps)
	if err != nil || len(failed) != 1 || failed[l2] != "layer two: fetching blob: 500" {
		t.Fatalf("failed layers %v %v", failed, err)
	}
	p, err := a.WorkProgress(ctx, scan)
	if err != nil || p.Drained() || p.Claimed != 1 || p.Done != 1 || p.Failed != 1 {
		t.Fatalf("progress %+v %v", p, err)
	}
	if err := a.Complete(ctx, img, nil); err != nil {
		t.Fatal(err)
	}
	if p, err := a.WorkProgress(ctx, scan); err != nil || !p.Drained() {
		t.Fatalf("progress %+v %v: not drained", p, err)
	}
	res, err := a.WorkResults(ctx, scan, postgres.WorkLayer)
	if err != nil || len(res) != 1 || string(res[0]) != "result" {
		t.Fatalf("results %q %v", res, err)
	}

	// Concurrent claimers over many items: each claimed exactly once.
	var many []postgres.NewWork
	for i := range 40 {
		many = append(many, postgres.NewWork{Kind: postgres.WorkLayer, Key: fmt.Sprintf("sha256:%064d", i), Payload: []byte{byte(i)}})
	}
	if err := b.Enqueue(ctx, scan, many); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	for i := range 8 {
		db := dbs[i%3]
		wg.Go(func() {
			for {
				w, err := db.Claim(ctx, scan, fmt.Sprint("w", i), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if w == nil {
					return
				}
				mu.Lock()
				seen[w.ID]++
				mu.Unlock()
				if err := db.Complete(ctx, w, nil); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != len(many) {
		t.Fatalf("%d items claimed, want %d", len(seen), len(many))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("item %d claimed %d times", id, n)
		}
	}

	// One finisher, once.
	finished := 0
	for _, db := range dbs {
		wg.Go(func() {
			ok, err := db.Finisher(ctx, scan, "x", func(context.Context) error { time.Sleep(100 * time.Millisecond); return nil })
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				finished++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok, err := a.Finisher(ctx, scan, "x", func(context.Context) error { return nil }); ok || err != nil {
		t.Fatalf("finished twice: %v %v", ok, err)
	}
	if done, err := b.SharedScanDone(ctx, scan); finished != 1 || !done || err != nil {
		t.Fatalf("%d finishers, done %v %v", finished, done, err)
	}
	// The next workers of the same targets start a new scan.
	s, err := a.JoinScan(ctx, "reg.example:5000", "test", nil)
	if err != nil || !s.Created || s.ID == scan {
		t.Fatalf("after the scan is done: %+v %v", s, err)
	}
}
