package crawl

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newTestTransport(reg Registry, r Retry, lim Limits) *fetchTransport {
	c := &Crawler{opts: Options{Retry: r.withDefaults(), Limits: lim}}
	return c.fetchTransport("test", reg, http.DefaultTransport)
}

func do(t *testing.T, tr http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := tr.RoundTrip(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// holdingServer holds every response until release is closed, signals
// each request's arrival, and counts the most requests it had at once. A
// response is an 8 MiB body: a streamed blob holds its slot until read.
func holdingServer(t *testing.T) (srv *httptest.Server, peak *atomic.Int32, release chan struct{}, arrived chan struct{}) {
	var cur atomic.Int32
	peak = new(atomic.Int32)
	release, arrived = make(chan struct{}), make(chan struct{}, 8)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		arrived <- struct{}{}
		<-release
		cur.Add(-1)
		w.Header().Set("Content-Length", "8388608")
		w.Write(make([]byte, 8<<20))
	}))
	t.Cleanup(srv.Close)
	return srv, peak, release, arrived
}

// TestMaxRequests holds every response until released and counts how many
// requests the registry sees at once.
func TestMaxRequests(t *testing.T) {
	srv, peak, release, arrived := holdingServer(t)
	tr := newTestTransport(Registry{MaxRequests: 2}, Retry{}, Limits{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if _, err := do(t, tr, fmt.Sprintf("%s/v2/r/blobs/sha256:%d", srv.URL, i)); err != nil {
				t.Error(err)
			}
		})
	}
	// Two requests reach the registry; the others wait for a slot: the
	// transport's two are taken, and nothing more arrives.
	<-arrived
	<-arrived
	if tr.sem.TryAcquire(1) {
		tr.sem.Release(1)
		t.Error("a third slot was free with two requests in flight")
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("%d requests at once before any finished, want 2", p)
	}
	close(release)
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Errorf("%d requests at once, max_requests is 2", p)
	}
}

// TestMaxRequestsShared: with max_requests 4 shared by two live workers,
// one worker's transport has two requests in flight at most, and it takes
// them all again when it is left alone.
func TestMaxRequestsShared(t *testing.T) {
	srv, peak, release, arrived := holdingServer(t)
	var workers atomic.Int32
	workers.Store(2)
	c := &Crawler{opts: Options{Retry: Retry{}.withDefaults(), RateShare: func() int { return int(workers.Load()) }}}
	tr := c.fetchTransport("test", Registry{MaxRequests: 4}, http.DefaultTransport)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if _, err := do(t, tr, fmt.Sprintf("%s/v2/r/blobs/sha256:%d", srv.URL, i)); err != nil {
				t.Error(err)
			}
		})
	}
	<-arrived
	<-arrived
	select { // the other four wait for a slot (a wrong share lets them through at once)
	case <-arrived:
		t.Error("a third request reached the registry with max_requests 4 shared by 2 workers")
	case <-time.After(300 * time.Millisecond):
	}
	if tr.sem.TryAcquire(1) {
		tr.sem.Release(1)
		t.Error("a slot was free with two requests of two workers' share in flight")
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("%d requests at once before any finished, want 2 (max_requests 4, 2 workers)", p)
	}
	workers.Store(1) // the other worker is gone: the next requests take one slot each
	close(release)
	wg.Wait()
	if p := peak.Load(); p > 4 {
		t.Errorf("%d requests at once, max_requests is 4", p)
	}
	if _, err := do(t, tr, srv.URL+"/v2/"); err != nil {
		t.Fatal(err)
	}
	if !tr.sem.TryAcquire(4) {
		t.Error("slots still held after every request ended")
	}
}

func TestRequestsPerSecond(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	tr := newTestTransport(Registry{RequestsPerSecond: 20}, Retry{}, Limits{})
	start := time.Now()
	for range 40 { // 20 at once (the burst), then 20 a second
		if _, err := do(t, tr, srv.URL+"/v2/"); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("40 requests at 20/s took %s", d)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"0": 0, "7": 7 * time.Second, "Fri, 02 Jan 2026 03:04:15 GMT": 10 * time.Second,
		"Fri, 02 Jan 2026 03:04:00 GMT": 0, // in the past: no wait
	} {
		if got, ok := retryAfter(v, now); !ok || got != want {
			t.Errorf("retryAfter(%q) = %s, %v; want %s", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "-3", "soon", "1.5"} {
		if _, ok := retryAfter(v, now); ok {
			t.Errorf("retryAfter(%q) accepted", v)
		}
	}
}

// TestRetryAfterPausesHost checks a Retry-After holds back every request
// to the registry, and one longer than max_retry_after fails at once.
func TestRetryAfterPausesHost(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/long") {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	tr := newTestTransport(Registry{}, Retry{MaxRetryAfter: time.Minute}, Limits{})
	start := time.Now()
	if resp, err := do(t, tr, srv.URL+"/v2/a"); err != nil || resp.StatusCode != 429 {
		t.Fatalf("first: %v %v", resp, err)
	}
	if _, err := do(t, tr, srv.URL+"/v2/b"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("another request went out %s after Retry-After: 1", d)
	}
	if _, err := do(t, tr, srv.URL+"/v2/long"); !errors.Is(err, ErrRetryAfterTooLong) {
		t.Errorf("Retry-After an hour: %v, want ErrRetryAfterTooLong", err)
	}
}

// TestBreaker checks a registry failing every request is given up on
// after BreakAfter failures, without more requests, and tried again after
// the cooldown.
func TestBreaker(t *testing.T) {
	var calls atomic.Int32
	healthy := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !healthy.Load() {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	tr := newTestTransport(Registry{}, Retry{BreakAfter: 3, Cooldown: 300 * time.Millisecond}, Limits{})
	for range 3 {
		do(t, tr, srv.URL+"/v2/")
	}
	_, err := do(t, tr, srv.URL+"/v2/")
	if !errors.Is(err, ErrRegistryDown) || calls.Load() != 3 || !strings.Contains(err.Error(), "502") {
		t.Errorf("after 3 failures: %v with %d calls, want ErrRegistryDown naming the last failure and no call", err, calls.Load())
	}
	healthy.Store(true)
	// The breaker opened for the cooldown from the third failure: wait for
	// the instant it names (not a guess at how long the test takes).
	tr.mu.Lock()
	until := tr.openUntil
	tr.mu.Unlock()
	if d := time.Until(until); d <= 0 || d > 300*time.Millisecond {
		t.Fatalf("breaker open for %s more, want at most the 300ms cooldown", d)
	}
	time.Sleep(time.Until(until) + time.Millisecond)
	if resp, err := do(t, tr, srv.URL+"/v2/"); err != nil || resp.StatusCode != 200 {
		t.Errorf("after the cooldown: %v %v", resp, err)
	}
}

func TestManifestSizeCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/chunked") {
			w.(http.Flusher).Flush() // no Content-Length
		}
		w.Write(make([]byte, 2048))
	}))
	defer srv.Close()
	tr := newTestTransport(Registry{}, Retry{}, Limits{MaxManifestSize: 1024})
	for _, p := range []string{"/v2/r/manifests/sized", "/v2/r/manifests/chunked"} {
		if _, err := do(t, tr, srv.URL+p); !errors.Is(err, ErrManifestLimit) {
			t.Errorf("%s: %v, want ErrManifestLimit", p, err)
		}
	}
	if _, err := do(t, tr, srv.URL+"/v2/r/blobs/sha256:00"); err != nil {
		t.Errorf("a 2 KiB blob: %v", err)
	}
}

func TestTransient(t *testing.T) {
	for err, want := range map[error]bool{
		io.ErrUnexpectedEOF: true, fmt.Errorf("x: %w", ErrStalled): true,
		ErrLimit: false, ErrRegistryDown: false, errors.New("manifest unknown"): false,
	} {
		if got := transient(err); got != want {
			t.Errorf("transient(%v) = %v", err, got)
		}
	}
}
