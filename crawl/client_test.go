package crawl

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
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

// keychainOf hands out one set of credentials for every registry.
type keychainOf struct{ auth authn.Authenticator }

func (k keychainOf) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }

// TestKeychainSecretsRedacted: credentials from a keychain (the Docker
// config) are kept out of messages like those from config.toml.
func TestKeychainSecretsRedacted(t *testing.T) {
	c, err := New(nil, Options{Keychain: keychainOf{&authn.Basic{Username: "ci", Password: "hunter2-from-docker-config"}}})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.client("registry.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := rc.redact(errors.New("401 for ci:hunter2-from-docker-config")); strings.Contains(got, "hunter2") {
		t.Errorf("message shows the keychain's password: %s", got)
	}
}
