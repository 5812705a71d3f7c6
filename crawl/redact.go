package crawl

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/authn"
)

// maxErrorBody is how much of a registry's error answer is kept: enough
// for any real one, so that a registry cannot fill scan_errors or the
// terminal with pages of text.
const maxErrorBody = 1 << 10

// maxMessage bounds a whole scan error message (the chain of what failed
// around the registry's answer).
const maxMessage = 4 << 10

// secrets are what no message may show: the credentials of the
// configuration and keychain, and every Authorization value sent to a
// registry (tokens the registry's token service handed out included), in
// every form a registry may echo them. One set serves a crawl.
type secrets struct {
	mu   sync.RWMutex
	seen map[string]bool
	list []string // longest first, so a secret inside another goes with it
}

// authValue is the credential of an Authorization header value that
// secrets could not know of (a registry echoing another client's).
var authValue = regexp.MustCompile(`(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]{16,}`)

func (s *secrets) add(vals ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	changed := false
	for _, v := range vals {
		if v == "" || s.seen[v] {
			continue
		}
		s.seen[v] = true
		s.list = append(s.list, v)
		changed = true
	}
	if changed {
		sort.Slice(s.list, func(i, j int) bool { return len(s.list[i]) > len(s.list[j]) })
	}
}

func (s *secrets) known(v string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.seen[v]
}

// addAuthConfig adds a configured credential: the password and tokens as
// they are, user:pass, and its base64 (what Basic auth sends).
func (s *secrets) addAuthConfig(a *authn.AuthConfig) {
	if a == nil {
		return
	}
	s.add(a.Password, a.RegistryToken, a.IdentityToken, a.Auth)
	if a.Password != "" {
		up := a.Username + ":" + a.Password
		s.add(up, base64.StdEncoding.EncodeToString([]byte(up)), base64.URLEncoding.EncodeToString([]byte(up)))
	}
}

// addAuthorization adds an Authorization header value sent to a registry:
// the whole value, its credential and, for Basic, the user:pass and
// password it encodes.
func (s *secrets) addAuthorization(v string) {
	if v == "" || s.known(v) {
		return
	}
	vals := []string{v}
	if scheme, cred, ok := strings.Cut(v, " "); ok {
		cred = strings.TrimSpace(cred)
		vals = append(vals, cred)
		if strings.EqualFold(scheme, "basic") {
			if up, err := base64.StdEncoding.DecodeString(cred); err == nil {
				vals = append(vals, string(up))
				if _, pass, ok := strings.Cut(string(up), ":"); ok {
					vals = append(vals, pass)
				}
			}
		}
	}
	s.add(vals...)
}

// redact renders msg without any secret, any Authorization credential, or
// more than maxMessage bytes.
func (s *secrets) redact(msg string) string {
	s.mu.RLock()
	for _, v := range s.list {
		msg = strings.ReplaceAll(msg, v, "[redacted]")
	}
	s.mu.RUnlock()
	msg = authValue.ReplaceAllString(msg, "$1 [redacted]")
	return cut(msg, maxMessage)
}

// cut shortens s to at most n bytes (at a rune boundary), saying how much
// it left out.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + fmt.Sprintf("… [%d more bytes cut]", len(s)-i)
}
