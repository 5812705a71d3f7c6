package index

import (
	"context"
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
