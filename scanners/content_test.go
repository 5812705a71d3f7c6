package scanners

import (
	"strings"
	"testing"
)

// testMatcher is the default patterns' matcher.
func testMatcher(t testing.TB) *Matcher {
	t.Helper()
	m, err := NewMatcher(DefaultPatterns(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMatcherFindsAndRedacts(t *testing.T) {
	m := testMatcher(t)
	secrets := map[string]string{
		"aws-access-key-id":     "AKIAQWERTYUIOP234567",
		"aws-secret-access-key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKY",
		"github-token":          "ghp_" + strings.Repeat("aB3", 12),
		"gitlab-token":          "glpat-" + strings.Repeat("x1", 10),
		"slack-token":           "xoxb-1234567890-abcdefghij",
		"stripe-key":            "sk_live_" + strings.Repeat("Ab1", 8),
		"google-api-key":        "AIza" + strings.Repeat("Q", 35),
		"npm-token":             "npm_" + strings.Repeat("z9", 18),
	}
	for id, secret := range secrets {
		t.Run(id, func(t *testing.T) {
			content := "some text\nkey = " + secret + "\nmore\n"
			if id == "aws-secret-access-key" {
				content = "[default]\naws_secret_access_key = " + secret + "\n"
			}
			got := m.Match("/x", []byte(content))
			if len(got) != 1 || got[0].PatternID != id {
				t.Fatalf("Match = %+v, want one %s", got, id)
			}
			if strings.Contains(got[0].Excerpt, secret) || strings.Contains(got[0].Excerpt, secret[4:]) {
				t.Errorf("excerpt %q shows the secret", got[0].Excerpt)
			}
			if want := int64(strings.Index(content, secret)); id != "aws-secret-access-key" && got[0].Offset != want {
				t.Errorf("offset %d, want %d", got[0].Offset, want)
			}
		})
	}
	t.Run("private key header shown, key data redacted", func(t *testing.T) {
		body := "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
		got := m.Match("/k", []byte("-----BEGIN CERTIFICATE-----\nMII\n-----BEGIN OPENSSH PRIVATE KEY-----\n"+body+"\n"))
		if len(got) != 1 || got[0].PatternID != "private-key" || !strings.HasPrefix(got[0].Excerpt, "-----BEGIN OPENSSH PRIVATE KEY-----.b3Bl*") ||
			strings.Contains(got[0].Excerpt, body[4:12]) {
			t.Errorf("Match = %+v", got)
		}
	})
	t.Run("private keys", func(t *testing.T) {
		for _, key := range []string{
			"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123\n\nMIIE\n",
			"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGVbR3IBCADQ2r6MzB5QyV8l9kq3VnJcDFGH1234abcd\n",
			"-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\r\n",
			`{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"}`,
			"tls:\n  key: |\n    -----BEGIN RSA PRIVATE KEY-----\n    MIIEpAIBAAKCAQEA3Tz2\n",
			"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nu\n-----END EC PRIVATE KEY-----\n", // a short first line
		} {
			if got := m.Match("/k", []byte(key)); len(got) != 1 || got[0].PatternID != "private-key" {
				t.Errorf("Match(%q) = %+v, want one private-key", key, got)
			}
		}
	})
	t.Run("near misses", func(t *testing.T) {
		for _, s := range []string{"AKIA1234", "xAKIAQWERTYUIOP234567", "ghp_short", "stratum is a word", "AKIAqwertyuiop234567",
			"\x00\x25-----BEGIN PGP PRIVATE KEY BLOCK-----\n[50:application/pgp-keys]\n", // shared-mime-info's magic
			"Keys start with `-----BEGIN RSA PRIVATE KEY-----` and end with ...\n"} {
			if got := m.Match("/n", []byte(s)); len(got) != 0 {
				t.Errorf("Match(%q) = %+v, want nothing", s, got)
			}
		}
	})
}

func TestMatcherVersion(t *testing.T) {
	a := testMatcher(t)
	ps := DefaultPatterns()
	ps[0].Regex += "x"
	b, err := NewMatcher(ps, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewMatcher(DefaultPatterns(), 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version() == b.Version() || a.Version() == c.Version() || a.Version() != testMatcher(t).Version() {
		t.Errorf("versions %s %s %s: a changed pattern or size must change the version, nothing else", a.Version(), b.Version(), c.Version())
	}
	for _, bad := range [][]Pattern{{{ID: "x", Regex: "("}}, {{Regex: "a"}}, {{ID: "d", Regex: "a"}, {ID: "d", Regex: "b"}}} {
		if _, err := NewMatcher(bad, 0); err == nil {
			t.Errorf("NewMatcher(%+v): no error", bad)
		}
	}
}
