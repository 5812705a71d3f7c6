package scanners

import (
	"strings"
	"testing"
)

// TestLinePatterns: a pattern with line = true matches within the line of
// each literal hit, however long the file and wherever the line is, and ^
// is that line's start; the same regex without it still matches across a
// line break. A NUL ends a line as a newline does.
func TestLinePatterns(t *testing.T) {
	ps := []Pattern{
		{ID: "line", Regex: `(^|;)\s*wipe\s+\S+`, Literals: []string{"wipe"}, Line: true},
		{ID: "free", Regex: `tail\s+\S+`, Literals: []string{"tail"}},
	}
	m, err := NewMatcher(ps, 0)
	if err != nil {
		t.Fatal(err)
	}
	content := strings.Repeat("x", 5000) + "\nwipe /var/log/wtmp\nfoo; wipe\n/etc/x\ntail\n/y\n"
	var got []string
	for _, c := range m.Match("f", []byte(content)) {
		got = append(got, c.PatternID+"="+strings.TrimSpace(c.Excerpt))
	}
	want := []string{"line=wipe /var/log/wtmp", "free=tail./y"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("matches %q, want %q (a line pattern stays in its line; ^ is the line's start)", got, want)
	}
	// A NUL ends a line too: a binary's strings each are one, and a match
	// does not run from one into the next.
	nul, err := NewMatcher(append(ps[:1:1], Pattern{ID: "nul", Regex: `wipe[^\n]*/etc/\w+`, Literals: []string{"wipe"}, Line: true}), 0)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, c := range nul.Match("f", []byte("\x7fELF\x00\x00wipe /var/log/btmp\x00;wipe\x00/etc/x\x00wipe /etc/y\x00xx")) {
		got = append(got, c.PatternID+"="+strings.TrimSpace(c.Excerpt))
	}
	if want := "line=wipe /var/log/btmp|line=wipe /etc/y|nul=wipe /etc/y"; strings.Join(got, "|") != want {
		t.Fatalf("in a binary, matches %q, want %q (a NUL ends a line)", got, want)
	}
	ps[0].Line = false
	free, err := NewMatcher(ps, 0)
	if err != nil {
		t.Fatal(err)
	}
	if free.Version() == m.Version() {
		t.Fatal("line = true does not change the matcher's version")
	}
}
