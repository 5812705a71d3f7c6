// Package faultproxy is an HTTP reverse proxy for tests that stands on
// loopback in front of a real registry and injects the faults a production
// registry shows: 5xx storms, 429 with Retry-After (seconds and HTTP-date
// forms), connections reset mid-body, bodies that stall, bodies cut short
// under a correct Content-Length, and wrong Content-Types. Faults are chosen
// per request kind (ping, catalog, tags, manifest, blob) by rules, at random
// from a seeded source or deterministically for the first requests of each
// path, and every request is recorded so tests can measure what a client did.
package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is the kind of a registry API request, from its path.
type Kind string

// Request kinds.
const (
	Any      Kind = ""         // matches every kind in a Rule
	Ping     Kind = "ping"     // GET /v2/
	Catalog  Kind = "catalog"  // /v2/_catalog
	Tags     Kind = "tags"     // /v2/NAME/tags/list
	Manifest Kind = "manifest" // /v2/NAME/manifests/REF
	Blob     Kind = "blob"     // /v2/NAME/blobs/DIGEST
	Other    Kind = "other"
)

// KindOf classifies a request path of the registry API.
func KindOf(path string) Kind {
	switch {
	case path == "/v2/" || path == "/v2":
		return Ping
	case path == "/v2/_catalog":
		return Catalog
	case !strings.HasPrefix(path, "/v2/"):
		return Other
	case strings.HasSuffix(path, "/tags/list"):
		return Tags
	case strings.Contains(path, "/manifests/"):
		return Manifest
	case strings.Contains(path, "/blobs/"):
		return Blob
	}
	return Other
}

// Fault is what the proxy does to a request instead of passing it through.
type Fault int

// Faults.
const (
	None              Fault = iota
	Status500               // 500 with a registry error body; upstream not asked
	Status502               // 502
	Status503               // 503
	RetryAfterSeconds       // 429 with "Retry-After: N" (Rule.RetryAfter, rounded up to seconds)
	RetryAfterDate          // 429 with "Retry-After: <HTTP-date>" Rule.RetryAfter from now
	ResetMidBody            // upstream headers, half the body, then a TCP reset
	StallBody               // upstream headers, half the body, then nothing for Rule.Stall (0: until the client leaves)
	TruncateBody            // upstream headers with the correct Content-Length, half the body, then a clean close
	WrongContentType        // upstream response with Content-Type replaced by Rule.ContentType
)

var faultNames = [...]string{"none", "500", "502", "503", "429-seconds", "429-date", "reset", "stall", "truncate", "content-type"}

func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// Rule injects one fault into requests of one kind. The first rule that
// fires for a request wins.
type Rule struct {
	Kind  Kind  // requests it applies to; Any for all
	Fault Fault // what to do
	// Rate is the probability (0..1) that the rule fires for a matching
	// request, drawn from the proxy's seeded source.
	Rate float64
	// First, when > 0, makes the rule fire on exactly the first First
	// matching requests of each distinct method and path (Rate is ignored):
	// deterministic faults for tests that measure retries.
	First int
	// RetryAfter is the wait named by the 429 faults (default 1s).
	RetryAfter time.Duration
	// Stall is how long StallBody stalls before sending the rest; 0 means
	// until the client gives up or the proxy closes.
	Stall time.Duration
	// ContentType is what WrongContentType sends (default "text/html").
	ContentType string
}

// Event is one request the proxy saw.
type Event struct {
	Time   time.Time // when the request arrived
	Method string
	Path   string
	Kind   Kind
	Fault  Fault
	Status int // status sent (the upstream's when passed through)
	// RetryAfter is the earliest time a 429 fault allowed a retry.
	RetryAfter time.Time
	// Authorization is true if the request carried credentials.
	Authorization bool
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	upstream *url.URL
	client   *http.Client
	srv      *http.Server
	ln       net.Listener
	done     chan struct{}

	mu     sync.Mutex
	rng    *rand.Rand
	rules  []Rule
	seen   map[string]int // method+path -> matching requests so far, per rule index
	events []Event
}

// New starts a proxy on 127.0.0.1 (a free port) in front of upstream, a
// base URL such as "http://127.0.0.1:5000". seed makes random faults
// repeatable. The proxy serves plain HTTP; Close stops it.
func New(upstream string, seed uint64) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: upstream %q: %w", upstream, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("faultproxy: upstream %q: want an http or https URL", upstream)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{
		upstream: u,
		client: &http.Client{
			Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64},
			// Pass redirects to the client, as a proxy must.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ln:   ln,
		done: make(chan struct{}),
		rng:  rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		seen: map[string]int{},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// Addr returns the proxy's host:port, to use as the registry name.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL returns the proxy's base URL.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// SetRules replaces the rules (and forgets the per-path counts of First).
func (p *Proxy) SetRules(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append([]Rule(nil), rules...)
	p.seen = map[string]int{}
}

// Events returns a copy of the requests seen so far, in arrival order.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// ResetEvents forgets the requests seen so far.
func (p *Proxy) ResetEvents() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = nil
}

// Close stops the proxy, ending stalled responses.
func (p *Proxy) Close() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	close(p.done)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	if err != nil {
		err = p.srv.Close()
	}
	p.client.CloseIdleConnections()
	return err
}

// pick returns the rule that fires for a request, or nil.
func (p *Proxy) pick(method, path string, kind Kind) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.rules {
		r := &p.rules[i]
		if r.Kind != Any && r.Kind != kind {
			continue
		}
		if r.First > 0 {
			key := strconv.Itoa(i) + " " + method + " " + path
			if p.seen[key] < r.First {
				p.seen[key]++
				rc := *r
				return &rc
			}
			continue
		}
		if r.Rate > 0 && p.rng.Float64() < r.Rate {
			rc := *r
			return &rc
		}
	}
	return nil
}

func (p *Proxy) record(e Event) {
	p.mu.Lock()
	p.events = append(p.events, e)
	p.mu.Unlock()
}

// ServeHTTP applies the first rule that fires, or passes the request on.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ev := Event{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Kind: KindOf(r.URL.Path), Authorization: r.Header.Get("Authorization") != ""}
	rule := p.pick(r.Method, r.URL.Path, ev.Kind)
	if rule != nil {
		ev.Fault = rule.Fault
	}
	switch ev.Fault {
	case Status500, Status502, Status503:
		ev.Status = map[Fault]int{Status500: 500, Status502: 502, Status503: 503}[ev.Fault]
		p.record(ev)
		writeError(w, ev.Status, "UNAVAILABLE", "injected fault")
		return
	case RetryAfterSeconds, RetryAfterDate:
		d := rule.RetryAfter
		if d <= 0 {
			d = time.Second
		}
		if ev.Fault == RetryAfterSeconds {
			secs := int((d + time.Second - 1) / time.Second)
			ev.RetryAfter = ev.Time.Add(time.Duration(secs) * time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		} else {
			// HTTP-dates have whole seconds: name the first whole second at
			// least d from now, so the client may not retry before it.
			at := ev.Time.Add(d).Truncate(time.Second).Add(time.Second)
			ev.RetryAfter = at
			w.Header().Set("Retry-After", at.UTC().Format(http.TimeFormat))
		}
		ev.Status = http.StatusTooManyRequests
		p.record(ev)
		writeError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "injected rate limit")
		return
	}

	resp, err := p.forward(r)
	if err != nil {
		ev.Status = http.StatusBadGateway
		p.record(ev)
		writeError(w, http.StatusBadGateway, "UNAVAILABLE", "upstream: "+err.Error())
		return
	}
	defer resp.Body.Close()
	ev.Status = resp.StatusCode
	body := resp.Body
	cutting := ev.Fault == ResetMidBody || ev.Fault == StallBody || ev.Fault == TruncateBody
	var whole []byte
	if cutting {
		// Cut bodies only where there is a body to cut.
		whole, err = io.ReadAll(resp.Body)
		if err != nil || len(whole) < 2 || r.Method == http.MethodHead {
			ev.Fault = None
		}
		body = io.NopCloser(bytes.NewReader(whole))
	}
	if ev.Fault == WrongContentType && resp.StatusCode/100 != 2 {
		ev.Fault = None
	}
	p.record(ev)

	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if ev.Fault == WrongContentType {
		ct := rule.ContentType
		if ct == "" {
			ct = "text/html"
		}
		w.Header().Set("Content-Type", ct)
	}
	if ev.Fault == None || ev.Fault == WrongContentType {
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, body)
		return
	}

	// Send the headers (with the true Content-Length) and half the body.
	w.Header().Set("Content-Length", strconv.Itoa(len(whole)))
	w.WriteHeader(resp.StatusCode)
	w.Write(whole[:len(whole)/2])
	rc := http.NewResponseController(w)
	rc.Flush()
	switch ev.Fault {
	case StallBody:
		var timeout <-chan time.Time
		if rule.Stall > 0 {
			t := time.NewTimer(rule.Stall)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-r.Context().Done():
			return
		case <-p.done:
			abort(rc)
			return
		case <-timeout:
			w.Write(whole[len(whole)/2:])
			return
		}
	case ResetMidBody:
		abort(rc)
	case TruncateBody:
		if conn, _, err := rc.Hijack(); err == nil {
			conn.Close()
		}
	}
}

// abort ends the connection with a TCP reset.
func abort(rc *http.ResponseController) {
	conn, _, err := rc.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// forward sends r to the upstream registry.
func (p *Proxy) forward(r *http.Request) (*http.Response, error) {
	u := *p.upstream
	u.Path = r.URL.Path
	u.RawPath = r.URL.RawPath
	u.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
	if err != nil {
		return nil, err
	}
	out.ContentLength = r.ContentLength
	for k, vs := range r.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
			continue
		}
		out.Header[k] = vs
	}
	return p.client.Do(out)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, msg)
}
