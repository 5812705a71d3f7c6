package crawl_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/internal/faultproxy"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/indextest"
)

// startProxy starts a fault proxy in front of the fleet registry.
func startProxy(t testing.TB, seed uint64) *faultproxy.Proxy {
	t.Helper()
	fleettest.Registry(t)
	up := os.Getenv("FLEET_URL")
	if up == "" {
		up = "http://" + os.Getenv("FLEET_REGISTRY")
	}
	p, err := faultproxy.New(up, seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// fastRetry keeps the retry schedule of a fault test short; the logic is
// the default's.
var fastRetry = crawl.Retry{Attempts: 6, Backoff: 20 * time.Millisecond, StallTimeout: time.Second}

// TestScanThroughFaultsEqualsCleanScan scans the fleet through a proxy that
// fails about one request in six in every way it can, and checks the index
// is the one a scan without faults makes.
func TestScanThroughFaultsEqualsCleanScan(t *testing.T) {
	t.Parallel()
	p := startProxy(t, 7)
	dir := t.TempDir()
	clean, faulty := filepath.Join(dir, "clean.db"), filepath.Join(dir, "faulty.db")
	ctx := context.Background()
	if err := fleettest.Scan(ctx, clean, fleetOpts(t, p.Addr(), fastRetry), p.Addr()); err != nil {
		t.Fatalf("clean scan through the proxy: %v", err)
	}

	p.SetRules(
		faultproxy.Rule{Kind: faultproxy.Manifest, Fault: faultproxy.WrongContentType, Rate: 0.10, ContentType: "text/html"},
		faultproxy.Rule{Fault: faultproxy.Status500, Rate: 0.03},
		faultproxy.Rule{Fault: faultproxy.Status502, Rate: 0.03},
		faultproxy.Rule{Fault: faultproxy.Status503, Rate: 0.03},
		faultproxy.Rule{Fault: faultproxy.RetryAfterSeconds, Rate: 0.01, RetryAfter: time.Second},
		faultproxy.Rule{Fault: faultproxy.RetryAfterDate, Rate: 0.01, RetryAfter: time.Second},
		faultproxy.Rule{Kind: faultproxy.Blob, Fault: faultproxy.ResetMidBody, Rate: 0.05},
		faultproxy.Rule{Kind: faultproxy.Blob, Fault: faultproxy.TruncateBody, Rate: 0.05},
		faultproxy.Rule{Kind: faultproxy.Blob, Fault: faultproxy.StallBody, Rate: 0.03},
		faultproxy.Rule{Kind: faultproxy.Manifest, Fault: faultproxy.ResetMidBody, Rate: 0.04},
		faultproxy.Rule{Kind: faultproxy.Manifest, Fault: faultproxy.TruncateBody, Rate: 0.04},
	)
	if err := fleettest.Scan(ctx, faulty, fleetOpts(t, p.Addr(), fastRetry), p.Addr()); err != nil {
		t.Fatalf("scan through faults: %v", err)
	}
	faults := map[faultproxy.Fault]int{}
	for _, e := range p.Events() {
		if e.Fault != faultproxy.None {
			faults[e.Fault]++
		}
	}
	if len(faults) < 6 {
		t.Errorf("only %d kinds of fault were injected (%v): the test does not test much", len(faults), faults)
	}
	indextest.Equal(t, faulty, clean)
	indextest.IntegrityOK(t, faulty)
}

// TestRetryAfterHonoured answers the first request for every manifest and
// blob with 429 and a Retry-After (seconds or HTTP-date form), and checks
// no request for it came again before the time named.
func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	p := startProxy(t, 1)
	p.SetRules(
		faultproxy.Rule{Kind: faultproxy.Manifest, Fault: faultproxy.RetryAfterSeconds, First: 1, RetryAfter: time.Second},
		faultproxy.Rule{Kind: faultproxy.Blob, Fault: faultproxy.RetryAfterDate, First: 1, RetryAfter: 500 * time.Millisecond},
	)
	db := filepath.Join(t.TempDir(), "i.db")
	if err := fleettest.Scan(context.Background(), db, crawl.Options{Retry: fastRetry}, p.Addr()+"/tools/busybox:1.35-zstd"); err != nil {
		t.Fatal(err)
	}
	events := p.Events()
	limited := 0
	margin := time.Hour // the least time between a named Retry-After and the retry
	for i, e := range events {
		if e.Status != 429 {
			continue
		}
		limited++
		again := false
		for _, later := range events[i+1:] {
			if later.Method == e.Method && later.Path == e.Path {
				again = true
				margin = min(margin, later.Time.Sub(e.RetryAfter))
				if later.Time.Before(e.RetryAfter) {
					t.Errorf("%s %s: retried at %s, Retry-After named %s", e.Method, e.Path,
						later.Time.Format("15:04:05.000"), e.RetryAfter.Format("15:04:05.000"))
				}
				break
			}
		}
		if !again {
			t.Errorf("%s %s: never retried after 429", e.Method, e.Path)
		}
	}
	if limited < 3 {
		t.Errorf("only %d requests were rate limited", limited)
	}
	t.Logf("%d requests rate limited; earliest retry %s after the time named", limited, margin)
}

// TestStalledBodyIsRetried stalls the first read of every blob forever;
// the stall timeout must end it and the retry must get the blob.
func TestStalledBodyIsRetried(t *testing.T) {
	t.Parallel()
	p := startProxy(t, 1)
	p.SetRules(faultproxy.Rule{Kind: faultproxy.Blob, Fault: faultproxy.StallBody, First: 1})
	db := filepath.Join(t.TempDir(), "i.db")
	start := time.Now()
	if err := fleettest.Scan(context.Background(), db, crawl.Options{Retry: fastRetry}, p.Addr()+"/tools/busybox:1.35-zstd"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("scan took %s with a 400ms stall timeout", d)
	}
	stalled := 0
	for _, e := range p.Events() {
		if e.Fault == faultproxy.StallBody {
			stalled++
		}
	}
	if stalled == 0 {
		t.Error("no body stalled")
	}
}

// TestRegistryDownFailsFast makes every manifest and blob request fail
// with 503, with the default retry settings, and checks the scan ends
// quickly with one clear error per tag.
func TestRegistryDownFailsFast(t *testing.T) {
	t.Parallel()
	p := startProxy(t, 1)
	p.SetRules(
		faultproxy.Rule{Kind: faultproxy.Manifest, Fault: faultproxy.Status503, Rate: 1},
		faultproxy.Rule{Kind: faultproxy.Blob, Fault: faultproxy.Status503, Rate: 1},
	)
	db := filepath.Join(t.TempDir(), "i.db")
	start := time.Now()
	err := fleettest.Scan(context.Background(), db, fleettest.OptionsFor(t, p.Addr()), p.Addr())
	elapsed := time.Since(start)
	var se *fleettest.ScanErrors
	if !errors.As(err, &se) {
		t.Fatalf("scan of a registry that is down: %v, want per-image errors", err)
	}
	// Every tag has its error, or its repository has one (when the
	// registry was given up on before its tags were listed).
	for _, tag := range fleettest.Tags(t) {
		found := false
		for _, m := range se.Messages {
			if strings.HasPrefix(m, tag.Repository+" "+tag.Tag+":") || strings.HasPrefix(m, tag.Repository+" :") {
				found = true
			}
		}
		if !found {
			t.Errorf("no error for %s:%s among:\n%s", tag.Repository, tag.Tag, strings.Join(se.Messages, "\n"))
		}
	}
	for _, m := range se.Messages {
		if !strings.Contains(m, "503") && !strings.Contains(m, "registry unavailable") {
			t.Errorf("error does not say why: %s", m)
		}
	}
	if elapsed > 30*time.Second {
		t.Errorf("scan of a registry that is down took %s", elapsed)
	}
	if n := len(p.Events()); n > 200 {
		t.Errorf("%d requests to a registry that is down", n)
	}
}

// TestBreakerIgnoresSchemeProbe scans a loopback registry whose manifests
// all fail with 503, with a breaker that opens at the first failure. Before
// the first HTTP request, go-containerregistry's ping tries HTTPS, which a
// plain-HTTP registry fails: that is how the scheme is found, not a failure
// of the registry, so the breaker opens on the 503 and every error names it
// (it opened on the TLS handshake, naming that, and under load the default
// breaker of 12 did so too when a repository's ping came twelfth).
func TestBreakerIgnoresSchemeProbe(t *testing.T) {
	t.Parallel()
	p := startProxy(t, 1)
	p.SetRules(faultproxy.Rule{Kind: faultproxy.Manifest, Fault: faultproxy.Status503, Rate: 1})
	r := fastRetry
	r.BreakAfter = 1
	err := fleettest.Scan(context.Background(), filepath.Join(t.TempDir(), "i.db"), crawl.Options{Retry: r}, p.Addr()+"/tools/busybox:1.35")
	var se *fleettest.ScanErrors
	if !errors.As(err, &se) || len(se.Messages) == 0 {
		t.Fatalf("scan of a registry failing every manifest: %v, want its errors", err)
	}
	for _, m := range se.Messages {
		if !strings.Contains(m, "503") || strings.Contains(m, "TLS") || strings.Contains(m, "tls") {
			t.Errorf("error does not name the registry's 503: %s", m)
		}
	}
}

// fleetOpts limits a scan of the fleet through host to the fleet.list
// repositories, with retry r.
func fleetOpts(t *testing.T, host string, r crawl.Retry) crawl.Options {
	opts := fleettest.OptionsFor(t, host)
	opts.Retry = r
	return opts
}

// TestCancelDuringBackoff: a registry answering 503 to every manifest
// request, with a long backoff between attempts: cancelling the scan ends
// it at once, not after the backoff.
func TestCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	p := startProxy(t, 1)
	p.SetRules(faultproxy.Rule{Kind: faultproxy.Manifest, Fault: faultproxy.Status503, Rate: 1})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	opts := crawl.Options{Retry: crawl.Retry{Attempts: 4, Backoff: 20 * time.Second}}
	err := fleettest.Scan(ctx, filepath.Join(t.TempDir(), "i.db"), opts, p.Addr()+"/tools/busybox:1.35")
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("scan cancelled 0.5 s in ended after %s (%v)", elapsed.Round(time.Millisecond), err)
	}
	if n := len(p.Events()); n > 2 {
		t.Errorf("%d requests, want at most 2, a HEAD and a GET (the retries come 20 s later)", n)
	}
}
