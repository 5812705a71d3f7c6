package pathglob

import "testing"

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		glob, name string
		want       bool
	}{
		{"apps/*", "apps/nginx", true},
		{"apps/*", "apps/team/nginx", false},
		{"apps/**", "apps/team/nginx", true},
		{"**/nginx", "apps/team/nginx", true},
		{"**", "x", true},
		{"a/**/z", "a/z", true},
		{"a/**/z", "a/b/c/z", true},
		{"a/**/z", "a/b/c/y", false},
		{"team-?/api", "team-a/api", true},
		{"/usr/lib/**/libz.so*", "/usr/lib/x86_64-linux-gnu/libz.so.1", true},
		{"/usr/lib/*/libz.so*", "/usr/lib/a/b/libz.so.1", false},
	} {
		if got := Match(tt.glob, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v", tt.glob, tt.name, got)
		}
	}
	if Check("[bad") == nil || Check("a/**/b*") != nil {
		t.Error("Check")
	}
}
