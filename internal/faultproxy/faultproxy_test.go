package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"
)

var blob = bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB

func upstream(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Content-Length", strconv.Itoa(len(blob)))
		w.Write(blob)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, p *Proxy, path string) (*http.Response, []byte, error) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(p.URL() + path)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestFaults(t *testing.T) {
	p, err := New(upstream(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const path = "/v2/r/blobs/sha256:00"

	p.SetRules()
	if resp, b, err := get(t, p, path); err != nil || resp.StatusCode != 200 || !bytes.Equal(b, blob) {
		t.Fatalf("pass-through: %v %v %d bytes", err, resp, len(b))
	}

	for _, f := range []Fault{Status500, Status502, Status503} {
		p.SetRules(Rule{Kind: Blob, Fault: f, Rate: 1})
		resp, _, err := get(t, p, path)
		if err != nil || strconv.Itoa(resp.StatusCode) != f.String() {
			t.Errorf("%s: %v %v", f, err, resp)
		}
	}

	p.SetRules(Rule{Fault: RetryAfterSeconds, Rate: 1, RetryAfter: 1500 * time.Millisecond})
	resp, _, _ := get(t, p, path)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("429 seconds: %d Retry-After %q, want 2 (rounded up)", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	p.SetRules(Rule{Fault: RetryAfterDate, Rate: 1, RetryAfter: 2 * time.Second})
	before := time.Now()
	resp, _, _ = get(t, p, path)
	at, err := http.ParseTime(resp.Header.Get("Retry-After"))
	if resp.StatusCode != 429 || err != nil || at.Before(before.Add(2*time.Second-time.Millisecond).Truncate(time.Second)) {
		t.Errorf("429 date: %d Retry-After %q (%v)", resp.StatusCode, resp.Header.Get("Retry-After"), err)
	}
	if ev := p.Events(); ev[len(ev)-1].RetryAfter.Before(before.Add(2 * time.Second)) {
		t.Errorf("event records Retry-After %s, less than 2s after %s", ev[len(ev)-1].RetryAfter, before)
	}

	p.SetRules(Rule{Kind: Blob, Fault: ResetMidBody, Rate: 1})
	if _, b, err := get(t, p, path); !errors.Is(err, syscall.ECONNRESET) || len(b) == 0 || len(b) >= len(blob) {
		t.Errorf("reset: %v after %d bytes", err, len(b))
	}
	p.SetRules(Rule{Kind: Blob, Fault: TruncateBody, Rate: 1})
	if resp, b, err := get(t, p, path); !errors.Is(err, io.ErrUnexpectedEOF) || resp.ContentLength != int64(len(blob)) || len(b) >= len(blob) {
		t.Errorf("truncate: %v, Content-Length %d, %d bytes", err, resp.ContentLength, len(b))
	}
	p.SetRules(Rule{Kind: Blob, Fault: StallBody, Rate: 1, Stall: 300 * time.Millisecond})
	start := time.Now()
	if _, b, err := get(t, p, path); err != nil || !bytes.Equal(b, blob) || time.Since(start) < 300*time.Millisecond {
		t.Errorf("stall: %v, %d bytes after %s", err, len(b), time.Since(start))
	}
	p.SetRules(Rule{Kind: Blob, Fault: WrongContentType, Rate: 1, ContentType: "text/plain"})
	if resp, b, err := get(t, p, path); err != nil || resp.Header.Get("Content-Type") != "text/plain" || !bytes.Equal(b, blob) {
		t.Errorf("content type: %v %q", err, resp.Header.Get("Content-Type"))
	}

	// Kind filters, and First faults the first requests of each path only.
	p.SetRules(Rule{Kind: Manifest, Fault: Status500, First: 2})
	if resp, _, _ := get(t, p, path); resp.StatusCode != 200 {
		t.Errorf("a manifest rule hit a blob: %d", resp.StatusCode)
	}
	var codes []int
	for range 3 {
		resp, _, _ := get(t, p, "/v2/r/manifests/a")
		codes = append(codes, resp.StatusCode)
	}
	resp, _, _ = get(t, p, "/v2/r/manifests/b")
	codes = append(codes, resp.StatusCode)
	if want := []int{500, 500, 200, 500}; !equalInts(codes, want) {
		t.Errorf("First: 2 gave %v, want %v", codes, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestKindOf(t *testing.T) {
	for path, want := range map[string]Kind{
		"/v2/": Ping, "/v2/_catalog": Catalog, "/v2/a/b/tags/list": Tags,
		"/v2/a/manifests/latest": Manifest, "/v2/a/b/blobs/sha256:ab": Blob, "/v2/a/blobs/uploads/": Blob, "/x": Other,
	} {
		if got := KindOf(path); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", path, got, want)
		}
	}
}
