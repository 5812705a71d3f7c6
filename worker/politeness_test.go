package worker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/internal/faultproxy"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/pgtest"
	"github.com/auditor-dev/auditor/postgres"
)

// TestPolitenessShared: the politeness of crawlers sharing one PostgreSQL
// database, against the real fleet registry behind a fault proxy. A 429
// with Retry-After that one crawler meets is recorded for the host; a
// crawler that starts while it holds sends nothing to the registry before
// it ends; a breaker another worker opened fails a crawler's requests at
// once, none sent; and requests_per_second is divided among the workers
// (RateShare).
func TestPolitenessShared(t *testing.T) {
	ctx := context.Background()
	up := "http://" + fleettest.Registry(t)
	p, err := faultproxy.New(up, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	db, err := postgres.Open(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	host := p.Addr()
	crawler := func(r crawl.Registry, share func() int) *crawl.Crawler {
		opts := fleettest.OptionsFor(t, host)
		reg := opts.Registries[host]
		reg.RequestsPerSecond = r.RequestsPerSecond
		opts.Registries[host] = reg
		opts.Politeness, opts.RateShare = db, share
		opts.Retry = crawl.Retry{Attempts: 4, Backoff: 10 * time.Millisecond}
		c, err := crawl.New(db, opts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	target := func(s string) []crawl.Target {
		tg, err := crawl.ParseTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		return []crawl.Target{tg}
	}

	// One worker is told to wait: the hold is recorded for every worker.
	p.SetRules(faultproxy.Rule{Kind: faultproxy.Manifest, Fault: faultproxy.RetryAfterSeconds, First: 1, RetryAfter: 2 * time.Second})
	if err := crawler(crawl.Registry{}, nil).Scan(ctx, target(host+"/tools/busybox:1.35")); err != nil {
		t.Fatal(err)
	}
	if !slicesContainsFault(p.Events(), faultproxy.RetryAfterSeconds) {
		t.Fatal("the proxy sent no 429")
	}
	// The hold is recorded (it ended with the crawl, which waited it out).
	var why string
	var failures int
	if err := db.Pool().QueryRow(ctx, `SELECT reason, failures FROM registry_politeness WHERE registry = $1`, host).Scan(&why, &failures); err != nil ||
		failures != 0 || !strings.Contains(why, "429") {
		t.Fatalf("after a 429: %q, failures %d, %v", why, failures, err)
	}
	// Another worker's hold: a crawler starting meanwhile obeys it.
	p.SetRules()
	p.ResetEvents()
	if err := db.HoldRegistry(ctx, host, 2*time.Second, false, "Retry-After 2 at another worker"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := crawler(crawl.Registry{}, nil).Scan(ctx, target(host+"/tools/busybox:1.35")); err != nil {
		t.Fatal(err)
	}
	ev := p.Events()
	if len(ev) == 0 {
		t.Fatal("no request sent")
	}
	if first := ev[0].Time.Sub(start); first < 1500*time.Millisecond {
		t.Errorf("first request %s after another worker's 2 s hold began: not held", first)
	}

	// A breaker another worker opened: requests fail at once, none sent.
	p.ResetEvents()
	if err := db.HoldRegistry(ctx, host, time.Minute, true, "GET /v2/: 503 Service Unavailable"); err != nil {
		t.Fatal(err)
	}
	var errs []error
	c, err := crawl.New(db, func() crawl.Options {
		o := fleettest.OptionsFor(t, host)
		o.Politeness = db
		o.OnError = func(e auditor.ScanError) { errs = append(errs, errors.New(e.Message)) }
		return o
	}())
	if err != nil {
		t.Fatal(err)
	}
	c.Scan(ctx, target(host+"/tools/busybox:1.35"))
	if n := len(p.Events()); n != 0 {
		t.Errorf("%d requests sent to a registry whose breaker another worker opened", n)
	}
	if len(errs) == 0 {
		t.Error("no error for a registry whose breaker is open")
	}
	if err := db.HoldRegistry(ctx, host, -time.Second, false, ""); err != nil { // no effect: a later hold is kept
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `DELETE FROM registry_politeness`); err != nil {
		t.Fatal(err)
	}

	// requests_per_second 8 divided among 4 workers: 2 per second here.
	p.ResetEvents()
	start = time.Now()
	if err := crawler(crawl.Registry{RequestsPerSecond: 8}, func() int { return 4 }).Scan(ctx, target(host+"/tools/busybox")); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	n := len(p.Events())
	if min := time.Duration(float64(n-2) / 2 * float64(time.Second) * 0.9); n < 6 || took < min {
		t.Errorf("%d requests in %s at 8/s shared by 4 workers: want at least %s", n, took, min)
	}
}

func slicesContainsFault(ev []faultproxy.Event, f faultproxy.Fault) bool {
	for _, e := range ev {
		if e.Fault == f {
			return true
		}
	}
	return false
}
