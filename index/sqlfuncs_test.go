package index

import (
	"context"
	"regexp"
	"testing"
)

func TestLinkEscapes(t *testing.T) {
	for _, tt := range []struct {
		path, target string
		want         bool
	}{
		{"/opt/app/escape", "../../../etc/shadow", true},
		{"/opt/app/ok", "../../etc/shadow", false},
		{"/a", "..", true},
		{"/a/b", "c/../../..", true},
		{"/etc/alternatives/x", "/usr/bin/x", false},
		{"/bin", "usr/bin", false},
	} {
		if got := linkEscapes(tt.path, tt.target); got != tt.want {
			t.Errorf("linkEscapes(%q, %q) = %v, want %v", tt.path, tt.target, got, tt.want)
		}
	}
}

// TestSQLFunctions: the functions are there on the write and the read-only
// connections alike.
func TestSQLFunctions(t *testing.T) {
	db := openTemp(t)
	for _, q := range []string{
		`SELECT '/usr/bin/xmrig' REGEXP '(?i)xmr' AND regexp_match('^/usr', '/usr/bin') AND basename('/a/b/c') = 'c' AND link_escapes('/a', '..')`,
	} {
		var ok bool
		if err := db.Reader().QueryRowContext(context.Background(), q).Scan(&ok); err != nil || !ok {
			t.Errorf("read-only: %s = %v, %v", q, ok, err)
		}
		if err := db.w.QueryRowContext(context.Background(), q).Scan(&ok); err != nil || !ok {
			t.Errorf("write: %s = %v, %v", q, ok, err)
		}
	}
}

// TestRegexpClassFastPath: patterns that are one ASCII character class get
// a byte scan; it must match exactly where the regexp engine does, invalid
// UTF-8 and case folding included. Other patterns keep the engine.
func TestRegexpClassFastPath(t *testing.T) {
	subjects := []string{"", "/usr/bin/ls", "/opt/ctl\x01name", "tab\there", "del\x7f", "nul\x00", "\xff\xfe", "\xc3\x01",
		"é", "\u2028", "Kelvin\u212a", "ſ", "AbC", "a-b", "x]y", "/etc/.hidden"}
	for _, tt := range []struct {
		pat  string
		fast bool
	}{
		{`[\x00-\x1f\x7f]`, true},
		{`[a-c]`, true},
		{`(?i)[k]`, false}, // folds to the Kelvin sign: not ASCII
		{`[^a-z]`, false},  // negated: holds non-ASCII runes
		{`[-\]]`, true},
		{`\.`, false}, // a literal: the engine's own fast path
		{`[ab]c`, false},
		{`\s`, true},
		{`[[:upper:]]`, true},
	} {
		m, err := compileMatch(tt.pat)
		if err != nil {
			t.Fatal(err)
		}
		if fast := asciiClassMatch(tt.pat) != nil; fast != tt.fast {
			t.Errorf("%q: fast path %v, want %v", tt.pat, fast, tt.fast)
		}
		re := regexp.MustCompile(tt.pat)
		for _, s := range subjects {
			if got, want := m(s), re.MatchString(s); got != want {
				t.Errorf("%q on %q: %v, regexp says %v", tt.pat, s, got, want)
			}
		}
	}
}
