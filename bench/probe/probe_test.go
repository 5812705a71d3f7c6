package probe

import (
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct {
		pattern, key string
		arg          string
	}{
		{"/usr/bin/xz", "FIND_PATH", "/usr/bin/xz"},
		{"/usr/lib/**/liblzma.so*", "FIND_GLOB", "/usr/lib/**/liblzma.so*"},
		{"*/authorized_keys", "FIND_ANYGLOB", "*/authorized_keys"},
		{"sha256:" + h, "FIND_SHA256", h},
		{h, "FIND_SHA256", h},
		{"/etc/[ab]*", "FIND_GLOB", "/etc/[ab]*"},
	}
	for _, tt := range tests {
		q := Find(tt.pattern)
		if q.Key != tt.key || len(q.Args) != 1 || q.Args[0] != tt.arg {
			t.Errorf("Find(%q) = %s %v, want %s [%s]", tt.pattern, q.Key, q.Args, tt.key, tt.arg)
		}
		if !strings.Contains(q.SQL, "FROM image_files") {
			t.Errorf("Find(%q) does not read image_files: %s", tt.pattern, q.SQL)
		}
	}
}
