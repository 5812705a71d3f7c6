package index

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/indextest"
)

// TestFleetFilesQueriesAgree: RecordFleetFiles reads paths by prefix ranges
// when most layers are new and layer by layer otherwise; both forms record
// the same (path, content) pairs, including paths that sort next to a
// prefix without being under it, and prefixes a path must match in case.
func TestFleetFilesQueriesAgree(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	paths := []string{"/bin/sh", "/bin", "/bin0", "/bin.old/x", "/binary", "/BIN/sh", "/usr/bin/ls", "/usr/bin/x/y",
		"/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib64/ld.so", "/usr/libexec/x", "/lib/ld.so", "/libx32/a", "/etc/passwd",
		"/usr/local/bin/tool", "/usr/local/lib/é.so", "/sbin/init", "/sbin/", "/opt/bin/x"}
	for i := range 3 {
		l := testLayer(fmt.Sprintf("sha256:%064d", i+1), paths...)
		l.Entries = append(l.Entries, Entry{Path: "/usr/bin/dir", Type: TypeDir, Mode: 0o755},
			Entry{Path: fmt.Sprintf("/usr/bin/v%d", i), Type: TypeFile, Mode: 0o755, SHA256: "bb", Kind: KindOther})
		if err := db.PutLayer(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	// The layers to record: all three.
	for _, q := range []string{`CREATE TEMP TABLE fleet_fresh (id INTEGER PRIMARY KEY)`, `INSERT INTO temp.fleet_fresh SELECT id FROM layers`} {
		if _, err := db.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	prefixes := []string{"/bin/", "/sbin/", "/usr/bin/", "/usr/lib/", "/usr/lib64/", "/lib/", "/libx32/", "/usr/local/lib/"}
	rows := func(q string, args []any) string {
		t.Helper()
		if _, err := db.w.ExecContext(ctx, q, append([]any{int64(7)}, args...)...); err != nil {
			t.Fatal(err)
		}
		out := indextest.Strings(t, db.w, `SELECT p.path || ' ' || c.sha256 || ' ' || f.first_scan FROM fleet_contents f
			JOIN paths p ON p.id = f.path_id JOIN contents c ON c.id = f.content_id ORDER BY 1`)
		if _, err := db.w.ExecContext(ctx, `DELETE FROM fleet_contents`); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, "\n")
	}
	byLayer, byPath := rows(fleetFilesByLayer(prefixes)), rows(fleetFilesByPath(prefixes))
	if byLayer != byPath {
		t.Errorf("by layer:\n%s\nby path:\n%s", byLayer, byPath)
	}
	if n := strings.Count(byPath, "\n") + 1; n != 13 {
		t.Errorf("%d rows recorded, want 13:\n%s", n, byPath)
	}
	// Not ASCII: the range form is not used.
	if q, _ := fleetFilesByPath([]string{"/usr/lib/é/"}); strings.Contains(q, "dirs") {
		t.Error("a prefix with a non-ASCII character got the range query")
	}
}
