package crawl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// ErrStalled is wrapped by errors for a registry response that sent nothing
// for Retry.StallTimeout.
var ErrStalled = errors.New("registry stopped sending data")

// ErrRegistryDown is wrapped by errors for requests not sent because the
// registry failed every recent request (see fetchTransport).
var ErrRegistryDown = errors.New("registry unavailable")

// ErrRetryAfterTooLong is wrapped by errors for a registry that asks (with
// Retry-After) to wait longer than Retry.MaxRetryAfter.
var ErrRetryAfterTooLong = errors.New("registry asks to wait too long")

// ErrUnreachable is wrapped by errors for a registry that refused the
// connection before it ever answered: a wrong host or port, or a registry
// that is not running. Such a first contact fails at once, not after the
// retries meant for a registry that drops connections mid-scan.
var ErrUnreachable = errors.New("registry unreachable")

// ErrTooManyRedirects is wrapped by errors for a request redirected more
// than maxRedirects times (a URL redirecting to itself, or a loop).
var ErrTooManyRedirects = errors.New("too many redirects")

// maxRedirects is how many redirects one request may follow: Go's own
// limit, which go-containerregistry's redirect check replaces with none.
const maxRedirects = 10

// bufferUpTo is the largest response body read whole inside the round trip
// (manifests, configs, errors, small blobs), so that a failure while reading
// it is retried like a failed request.
const bufferUpTo = 4 << 20

// fetchTransport sits under go-containerregistry's retrying transport, one
// per registry host. It waits out the backoff between a request's attempts
// (go-containerregistry's own sleep cannot be interrupted, so it is set to
// nothing and the wait happens here, where a cancelled scan stops it at
// once), enforces the registry's request limits, honours
// Retry-After for every request to the host, fails a response that stalls,
// caps manifest sizes, reads small bodies whole (so their failures are
// retried by the layer above), and stops calling a registry that fails
// every request (a circuit breaker), so a registry that is down gives quick
// errors instead of hours of retries.
type fetchTransport struct {
	next          http.RoundTripper
	host          string
	sem           *semaphore.Weighted // nil: unlimited concurrent requests
	limiter       *rate.Limiter       // nil: unlimited requests per second
	stall         time.Duration
	maxRetryAfter time.Duration
	maxManifest   int64
	secrets       *secrets // learns every Authorization value sent
	// httpAllowed: plain HTTP may be spoken to the host (insecure, or on
	// loopback), so go-containerregistry's ping tries HTTPS first and
	// falls back to HTTP (see probe).
	httpAllowed bool
	// breakAfter consecutive failed requests open the breaker for cooldown.
	breakAfter int
	cooldown   time.Duration
	// retry is the backoff between attempts and how many there are; tries
	// counts the failed attempts of requests go-containerregistry will try
	// again (the same *http.Request each time).
	retry Retry
	tries sync.Map // *http.Request -> int

	mu        sync.Mutex
	notBefore time.Time // from the last Retry-After
	fails     int       // consecutive failed requests
	openUntil time.Time
	lastErr   string
	tried     atomic.Bool // a request was sent
	answered  atomic.Bool // the registry answered a request once

	// shared is the politeness shared with other workers (nil: none),
	// asked at sharedAt last; rateShare divides rps and max_requests
	// (maxRequests, the size of sem) among workers.
	shared      Politeness
	sharedAt    time.Time
	rateShare   func() int
	rps         float64
	maxRequests int64
	lastShare   atomic.Int64
}

func (t *fetchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	t.secrets.addAuthorization(req.Header.Get("Authorization"))
	if n := redirects(req); n > maxRedirects {
		return nil, fmt.Errorf("%s %s: %w: redirected more than %d times", req.Method, req.URL.Redacted(), ErrTooManyRedirects, maxRedirects)
	}
	if err := t.backoff(ctx, req); err != nil {
		return nil, err
	}
	resp, err := t.roundTrip(ctx, req)
	t.attempted(req, resp, err)
	return resp, err
}

// redirects is how many redirects led to req: the http.Client sets
// Response on each request it makes for a redirect.
func redirects(req *http.Request) int {
	n := 0
	for r := req.Response; r != nil && r.Request != nil; r = r.Request.Response {
		n++
	}
	return n
}

// backoff waits before a request's next attempt, as long as Retry.Backoff
// after the first failure and three times longer after each further one
// (with 10% jitter); it returns early, with the cause, if ctx ends.
func (t *fetchTransport) backoff(ctx context.Context, req *http.Request) error {
	v, ok := t.tries.Load(req)
	if !ok {
		return nil
	}
	b := t.retry.backoff()
	var d time.Duration
	for range v.(int) {
		d = b.Step()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		t.tries.Delete(req)
		return context.Cause(ctx)
	case <-tm.C:
		return nil
	}
}

// attempted counts a failed attempt that go-containerregistry will retry,
// and forgets the request otherwise.
func (t *fetchTransport) attempted(req *http.Request, resp *http.Response, err error) {
	n := 0
	if v, ok := t.tries.Load(req); ok {
		n = v.(int)
	}
	again := transient(err)
	if err == nil && resp != nil {
		again = slices.Contains(retryStatusCodes, resp.StatusCode)
	}
	if again && n+1 < t.retry.Attempts {
		t.tries.Store(req, n+1)
	} else {
		t.tries.Delete(req)
	}
}

// roundTrip makes one attempt of req.
func (t *fetchTransport) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	t.refreshShared(ctx)
	if err := t.admit(ctx); err != nil {
		return nil, err
	}
	t.applyShare()
	if t.limiter != nil {
		if err := t.limiter.Wait(ctx); err != nil {
			return nil, err
		}
	}
	release := func() {}
	if t.sem != nil {
		// A request takes as many of max_requests' slots as there are
		// live workers sharing the registry: each worker has at most
		// max_requests / workers in flight (one at least), all of them
		// together at most max_requests.
		w := int64(1)
		if t.rateShare != nil {
			w = min(t.maxRequests, int64(max(1, t.rateShare())))
		}
		if err := t.sem.Acquire(ctx, w); err != nil {
			return nil, err
		}
		var once sync.Once
		release = func() { once.Do(func() { t.sem.Release(w) }) }
	}
	sctx, cancel := context.WithCancel(ctx)
	wd := newWatchdog(t.stall, cancel)
	done := func() { wd.stop(); cancel(); release() }
	what := req.Method + " " + req.URL.Path

	t.tried.Store(true)
	resp, err := t.next.RoundTrip(req.WithContext(sctx))
	if err != nil {
		done()
		if wd.fired() {
			err = fmt.Errorf("%s: no response for %s: %w", what, t.stall, ErrStalled)
		}
		if !t.answered.Load() && errors.Is(err, syscall.ECONNREFUSED) {
			err = fmt.Errorf("%w: %s refused the connection (nothing listens there: check the host and port, and that the registry runs)", ErrUnreachable, t.host)
		}
		// Neither the HTTPS probe of a registry that may speak plain HTTP
		// nor a request its caller gave up on says the registry fails: fed
		// to the breaker, they opened it on a registry that answers, or
		// named them as its last failure instead of the registry's 503s.
		if !t.probe(req) && ctx.Err() == nil {
			t.outcome(false, err.Error())
		}
		return nil, err
	}
	t.answered.Store(true)
	wd.kick()
	t.outcome(resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests, what+": "+resp.Status)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if d > t.maxRetryAfter {
				resp.Body.Close()
				done()
				return nil, fmt.Errorf("%s: %w: Retry-After %s is more than max_retry_after %s", what, ErrRetryAfterTooLong, d.Round(time.Second), t.maxRetryAfter)
			}
			t.pause(d)
			t.share(d, false, what+": "+resp.Status+", Retry-After "+resp.Header.Get("Retry-After"))
		}
	}
	isManifest := strings.Contains(req.URL.Path, "/manifests/")
	if isManifest && resp.StatusCode/100 == 2 && resp.ContentLength > t.maxManifest {
		resp.Body.Close()
		done()
		return nil, fmt.Errorf("%s: %w: manifest is %d bytes, more than max_manifest_bytes %d", what, ErrManifestLimit, resp.ContentLength, t.maxManifest)
	}
	small := resp.ContentLength >= 0 && resp.ContentLength <= bufferUpTo
	if req.Method == http.MethodHead || resp.StatusCode/100 != 2 || isManifest || small {
		limit := int64(bufferUpTo)
		if isManifest {
			limit = t.maxManifest
		}
		b, err := readAllWatched(resp.Body, limit+1, wd)
		resp.Body.Close()
		done()
		if err != nil {
			if wd.fired() {
				err = fmt.Errorf("no data for %s: %w", t.stall, ErrStalled)
			}
			return nil, fmt.Errorf("%s: reading response: %w", what, err)
		}
		if int64(len(b)) > limit && resp.StatusCode/100 == 2 {
			if isManifest {
				return nil, fmt.Errorf("%s: %w: manifest is more than max_manifest_bytes %d", what, ErrManifestLimit, t.maxManifest)
			}
			return nil, fmt.Errorf("%s: response body longer than its Content-Length", what)
		}
		if resp.StatusCode/100 != 2 && len(b) > maxErrorBody {
			b = []byte(cut(string(b), maxErrorBody))
			resp.ContentLength = int64(len(b))
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp, nil
	}
	resp.Body = &watchedBody{rc: resp.Body, wd: wd, done: done, stall: t.stall}
	return resp, nil
}

// probe reports whether req is the HTTPS half of go-containerregistry's
// ping of a registry it may also reach in plain HTTP: that ping tries
// https://HOST/v2/ and http://HOST/v2/ (the second 300 ms later, or at once
// when the first fails), keeps whichever answers, and cancels the other.
// Its failure (a plain-HTTP registry answering a TLS handshake) is how the
// scheme is found, not a failure of the registry.
func (t *fetchTransport) probe(req *http.Request) bool {
	return t.httpAllowed && req.Method == http.MethodGet && req.URL.Scheme == "https" && req.URL.Path == "/v2/"
}

// admit waits out a Retry-After and refuses requests while the breaker is
// open.
func (t *fetchTransport) admit(ctx context.Context) error {
	t.mu.Lock()
	now := time.Now()
	if now.Before(t.openUntil) {
		msg := fmt.Errorf("%w: %s failed %d requests in a row (last: %s); not trying again before %s",
			ErrRegistryDown, t.host, t.fails, t.lastErr, t.openUntil.Format(time.TimeOnly))
		t.mu.Unlock()
		return msg
	}
	wait := t.notBefore.Sub(now)
	t.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	tm := time.NewTimer(wait)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-tm.C:
		return nil
	}
}

// pause makes every request to the host wait d from now.
func (t *fetchTransport) pause(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if at := time.Now().Add(d); at.After(t.notBefore) {
		t.notBefore = at
	}
}

// outcome feeds the breaker: ok requests close it; breakAfter failures in a
// row open it for cooldown.
func (t *fetchTransport) outcome(ok bool, msg string) {
	t.mu.Lock()
	if ok {
		t.fails = 0
		t.mu.Unlock()
		return
	}
	t.fails++
	t.lastErr = msg
	opened := false
	if t.breakAfter > 0 && t.fails >= t.breakAfter {
		opened = !time.Now().Before(t.openUntil)
		t.openUntil = time.Now().Add(t.cooldown)
	}
	t.mu.Unlock()
	if opened { // the other workers stop calling it too
		t.share(t.cooldown, true, msg)
	}
}

// retryAfter parses a Retry-After value: delay-seconds or an HTTP-date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(365*24*time.Hour/time.Second) {
			secs = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// watchdog calls cancel when kick is not called for d (never when d <= 0).
type watchdog struct {
	d     time.Duration
	t     *time.Timer
	fire  atomic.Bool
	mu    sync.Mutex
	ended bool
}

func newWatchdog(d time.Duration, cancel func()) *watchdog {
	w := &watchdog{d: d}
	if d > 0 {
		w.t = time.AfterFunc(d, func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			if !w.ended {
				w.fire.Store(true)
				cancel()
			}
		})
	}
	return w
}

func (w *watchdog) kick() {
	if w.t != nil && !w.fire.Load() {
		w.t.Reset(w.d)
	}
}

func (w *watchdog) stop() {
	if w.t == nil {
		return
	}
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
	w.t.Stop()
}

func (w *watchdog) fired() bool { return w.fire.Load() }

// readAllWatched reads up to limit bytes, kicking wd on progress.
func readAllWatched(r io.Reader, limit int64, wd *watchdog) ([]byte, error) {
	var buf bytes.Buffer
	lr := io.LimitReader(r, limit)
	chunk := make([]byte, 32<<10)
	for {
		n, err := lr.Read(chunk)
		buf.Write(chunk[:n])
		if n > 0 {
			wd.kick()
		}
		if err == io.EOF {
			return buf.Bytes(), nil
		}
		if err != nil {
			return buf.Bytes(), err
		}
	}
}

// watchedBody is a streamed response body whose reads fail with ErrStalled
// when the registry sends nothing for the stall timeout.
type watchedBody struct {
	rc    io.ReadCloser
	wd    *watchdog
	done  func()
	stall time.Duration
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.wd.kick()
	}
	if err != nil {
		if b.wd.fired() {
			err = fmt.Errorf("no data for %s: %w", b.stall, ErrStalled)
		}
		b.done()
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.rc.Close()
	b.done()
	return err
}

// fetchTransport makes the transport for one registry host from the
// crawler's options and the host's settings.
func (c *Crawler) fetchTransport(host string, cfg Registry, next http.RoundTripper) *fetchTransport {
	r := c.opts.Retry
	t := &fetchTransport{
		next: next, host: host,
		stall: r.StallTimeout, maxRetryAfter: r.MaxRetryAfter, maxManifest: c.opts.Limits.manifestSize(),
		breakAfter: r.BreakAfter, cooldown: r.Cooldown, retry: r, secrets: &c.secrets,
		httpAllowed: cfg.Insecure || isLoopback(hostname(host)),
	}
	t.rateShare = c.opts.RateShare
	if cfg.MaxRequests > 0 {
		t.sem = semaphore.NewWeighted(int64(cfg.MaxRequests))
		t.maxRequests = int64(cfg.MaxRequests)
	}
	if cfg.RequestsPerSecond > 0 {
		t.limiter = rate.NewLimiter(rate.Limit(cfg.RequestsPerSecond), max(1, int(cfg.RequestsPerSecond)))
		t.rps = cfg.RequestsPerSecond
		t.lastShare.Store(1)
	}
	t.shared = c.opts.Politeness
	return t
}

// hostname is host without its port.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.Trim(host, "[]")
}
