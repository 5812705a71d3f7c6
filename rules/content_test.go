package rules

import (
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/indextest"
)

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

// TestContentRecheck: a layer matched with one pattern version is read
// again when the version changes, and only its content matches change (no
// entry is written twice); a file over the size limit is not matched.
func TestContentRecheck(t *testing.T) {
	reg := testRegistry(t)
	big := strings.Repeat("x", 2<<20) + " AKIAQWERTYUIOP234567"
	l := layerOf(t, ent{name: "app/token.txt", body: "token " + "ghp_" + strings.Repeat("aB3", 12) + "\n"},
		ent{name: "app/big.log", body: big},
		ent{name: "app/pool.cfg", body: "stratum+ssl://pool.example.org:443\n"})
	push(t, reg+"/test/content:v1", imageOf(t, nil, nil, baseLayer(t), l))
	db := tempDB(t)

	onlyGitHub, err := NewMatcher(DefaultPatterns()[3:4], 0)
	if err != nil {
		t.Fatal(err)
	}
	scanInto(t, db, onlyGitHub, reg)
	if got := contentRows(t, db); got != "/app/token.txt github-token" {
		t.Errorf("first scan, content_matches: %q", got)
	}
	set := defaultSet(t)
	runRules(t, db, set, RunOptions{})
	entries := countRows(t, db, "files")
	scanInto(t, db, testMatcher(t), reg)
	if got := contentRows(t, db); got != "/app/pool.cfg mining-pool-url\n/app/token.txt github-token" {
		t.Errorf("after a pattern change, content_matches: %q", got)
	}
	// The image's content changed: the rules judge it again.
	res := runRules(t, db, set, RunOptions{})
	if got := queryLines(t, db, `SELECT rule_id || ' ' || path || ' ' || state FROM findings ORDER BY 1`); got !=
		"miner-pool-url /app/pool.cfg new\nsecret-in-content /app/token.txt open" || res.Counts.New != 1 {
		t.Errorf("findings after the pattern change (%+v):\n%s", res.Counts, got)
	}
	if n := countRows(t, db, "files"); n != entries {
		t.Errorf("files: %d rows after the re-check, %d before", n, entries)
	}
	// Same version again: nothing re-read (no change either way).
	scanInto(t, db, testMatcher(t), reg)
	if got := contentRows(t, db); got != "/app/pool.cfg mining-pool-url\n/app/token.txt github-token" {
		t.Errorf("third scan, content_matches: %q", got)
	}
	// Without content checks, layers are not re-read and matches stay.
	scanInto(t, db, nil, reg)
	if n := countRows(t, db, "content_matches"); n != 2 {
		t.Errorf("scan without patterns: %d content matches, want 2", n)
	}
}

func contentRows(t testing.TB, db string) string {
	t.Helper()
	return queryLines(t, db, `SELECT path || ' ' || pattern_id FROM content_matches ORDER BY 1`)
}

func countRows(t testing.TB, db, view string) int {
	t.Helper()
	var n int
	if err := openRO(t, db).Reader().QueryRow(`SELECT count(*) FROM ` + view).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func queryLines(t testing.TB, db, q string) string {
	t.Helper()
	return strings.Join(indextest.Strings(t, openRO(t, db).Reader(), q), "\n")
}
