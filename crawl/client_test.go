package crawl

import (
	"net/http"
	"strings"
	"testing"
)

type noNetwork struct{ called bool }

func (n *noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	n.called = true
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// TestSchemeGuard: plain HTTP only to loopback or to registries marked
// insecure. The guard answers before any connection is made.
func TestSchemeGuard(t *testing.T) {
	for _, tt := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"http://127.0.0.1:5000/v2/", false, true},
		{"http://localhost:5000/v2/", false, true},
		{"http://[::1]:5000/v2/", false, true},
		{"https://registry.example.com/v2/", false, true},
		{"http://registry.example.com/v2/", false, false},
		{"http://10.1.2.3:5000/v2/", false, false},
		{"http://192.168.1.10/v2/", false, false},
		{"http://10.1.2.3:5000/v2/", true, true},
	} {
		next := &noNetwork{}
		g := &schemeGuard{next: next, insecure: tt.insecure}
		req, _ := http.NewRequest("GET", tt.url, nil)
		_, err := g.RoundTrip(req)
		if (err == nil) != tt.ok || next.called != tt.ok {
			t.Errorf("%s insecure=%v: err %v, sent %v", tt.url, tt.insecure, err, next.called)
		}
		if err != nil && !strings.Contains(err.Error(), "insecure = true") {
			t.Errorf("%s: error %q does not say how to allow it", tt.url, err)
		}
	}
}
