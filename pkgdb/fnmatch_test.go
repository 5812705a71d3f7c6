package pkgdb

import (
	"strings"
	"testing"
	"time"
)

func TestFnmatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, name string
		pathname      bool
		want          bool
	}{
		{"/usr/share/doc/*", "/usr/share/doc/bash/README", false, true},
		{"/usr/share/doc/*", "/usr/share/doc/bash/README", true, false},
		{"/usr/share/doc/*/copyright", "/usr/share/doc/bash/copyright", false, true},
		{"/usr/share/doc/*/copyright", "/usr/share/doc/a/b/copyright", false, true},
		{"/usr/share/doc/*/copyright", "/usr/share/doc/a/b/copyright", true, false},
		{"/usr/share/man/*", "/usr/share/man", false, false},
		{"/usr/share/locale/*", "/usr/share/locale/de/LC_MESSAGES/x.mo", false, true},
		{"*.gz", "a/b.gz", false, true},
		{"?", "/", false, true},
		{"?", "/", true, false},
		{"[a-c]x", "bx", false, true},
		{"[!a-c]x", "bx", false, false},
		{"[^a-c]x", "dx", false, true},
		{"[]]", "]", false, true},
		{"[a-]", "-", false, true},
		{"[", "[", false, true},
		{"[ab", "[ab", false, true},
		{`\*`, "*", false, true},
		{`\*`, "x", false, false},
		{"a*b*c", "axxbyyc", false, true},
		{"a*b*c", "axxbyy", false, false},
		{"", "", false, true},
		{"*", "", false, true},
		{"etc", "etc", true, true},
		{"e*", "etc/x", true, false},
	} {
		if got := fnmatch(tt.pattern, tt.name, tt.pathname); got != tt.want {
			t.Errorf("fnmatch(%q, %q, %v) = %v", tt.pattern, tt.name, tt.pathname, got)
		}
	}
}

// A hostile glob with many stars against a long name must not take
// exponential time.
func TestFnmatchBounded(t *testing.T) {
	pattern := strings.Repeat("*a", 200) + "b"
	name := strings.Repeat("a", 20000)
	start := time.Now()
	if fnmatch(pattern, name, false) {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}
