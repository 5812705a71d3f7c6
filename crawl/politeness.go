package crawl

import (
	"context"
	"time"

	"golang.org/x/time/rate"
)

// Politeness is what the crawlers of a scan shared by several workers tell
// each other of a registry host (Options.Politeness): a Retry-After one of
// them was given, or its breaker opening, holds the requests of all of
// them to that host. The PostgreSQL back end keeps it in the database.
type Politeness interface {
	// HoldRegistry holds requests to host for d from now (a hold that
	// ends later is kept), by an open breaker or not, and why.
	HoldRegistry(ctx context.Context, host string, d time.Duration, breaker bool, why string) error
	// RegistryHeld returns how much longer host is held (<= 0: it is
	// not), whether by an open breaker, and why.
	RegistryHeld(ctx context.Context, host string) (time.Duration, bool, string, error)
}

// sharedEvery is how often a crawler asks the shared politeness whether a
// registry is held: at most once a second per host, not per request.
const sharedEvery = time.Second

// sharedTimeout bounds one call to the shared politeness: a slow database
// must not stall the crawl.
const sharedTimeout = 5 * time.Second

// refreshShared applies what the other workers learnt of the host (a
// Retry-After, an open breaker), asked at most every sharedEvery.
func (t *fetchTransport) refreshShared(ctx context.Context) {
	if t.shared == nil {
		return
	}
	t.mu.Lock()
	stale := time.Since(t.sharedAt) >= sharedEvery
	if stale {
		t.sharedAt = time.Now()
	}
	t.mu.Unlock()
	if !stale {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, sharedTimeout)
	defer cancel()
	d, breaker, why, err := t.shared.RegistryHeld(sctx, t.host)
	if err != nil || d <= 0 {
		return
	}
	until := time.Now().Add(d)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case breaker && until.After(t.openUntil):
		t.openUntil, t.lastErr = until, why+", at another worker"
		t.fails = max(t.fails, t.breakAfter)
	case !breaker && until.After(t.notBefore):
		t.notBefore = until
	}
}

// share tells the other workers to hold the host for d.
func (t *fetchTransport) share(d time.Duration, breaker bool, why string) {
	if t.shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	t.shared.HoldRegistry(ctx, t.host, d, breaker, why) // best effort: this worker holds anyway
}

// applyShare sets the rate limiter to this worker's share of the host's
// requests_per_second: the rate divided among the live workers.
func (t *fetchTransport) applyShare() {
	if t.limiter == nil || t.rateShare == nil {
		return
	}
	n := max(1, t.rateShare())
	if int(t.lastShare.Swap(int64(n))) == n {
		return
	}
	r := t.rps / float64(n)
	t.limiter.SetLimit(rate.Limit(r))
	t.limiter.SetBurst(max(1, int(r)))
}
