package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/queries/querytest"
)

// demoQuery is the query scripts/demo runs.
const demoQuery = `SELECT repository, substr(image_digest, 1, 19) AS image,
    count(*) FILTER (WHERE visible AND type != 'dir') AS visible_files,
    count(*) FILTER (WHERE NOT visible AND hidden_how != 'marker') AS hidden_entries
  FROM image_files GROUP BY repository, image_digest ORDER BY repository, image`

func TestSQLGolden(t *testing.T) {
	checkGolden(t, fleetDB(t), []goldenCase{
		{"sql-demo", []string{"sql", demoQuery}},
		{"sql-nulls", []string{"sql", "SELECT path, type, sha256, linkname, capabilities FROM files WHERE path GLOB '/opt/app/bin/*' ORDER BY layer_digest, seq"}},
	})
}

func TestSQLInputs(t *testing.T) {
	db := querytest.SmallIndex(t)
	file := filepath.Join(t.TempDir(), "q.sql")
	if err := os.WriteFile(file, []byte("-- tags\nSELECT tag FROM tags ORDER BY tag, registry;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "sql", "--db", db, "--file", file, "--limit", "2")
	if code != 0 || out != "tag\n1.0\n1.0\n" || !strings.Contains(errOut, "stopped after 2 rows") {
		t.Errorf("--file --limit: exit %d %q %q", code, out, errOut)
	}
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"sql", "--db", db, "DELETE FROM scans"}, exitFailure, "refused"},
		{[]string{"sql", "--db", db, "SELECT 1; SELECT 2"}, exitFailure, "2 statements"},
		{[]string{"sql", "--db", db}, exitUsage, "no QUERY"},
		{[]string{"sql", "--db", db, "--file", file, "SELECT 1"}, exitUsage, "not both"},
		{[]string{"sql", "--db", db, "  "}, exitUsage, "empty query"},
		{[]string{"sql", "--db", db, "SELECT nope FROM missing_table"}, exitFailure, "no such table"},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.says) {
			t.Errorf("%v: exit %d %q, want %d and %q", c.args[3:], code, errOut, c.code, c.says)
		}
	}
}

// TestOpenErrors: the errors every reading command gives for a database
// that is missing or from a newer auditor.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.db")
	newer := filepath.Join(dir, "newer.db")
	if err := querytest.Copy(t.Context(), querytest.SmallIndex(t), newer); err != nil {
		t.Fatal(err)
	}
	querytest.Exec(t, newer, `INSERT INTO migrations (name, applied) VALUES ('9999_future.sql', '2099-01-01T00:00:00Z')`)
	for _, args := range [][]string{
		{"sql", "SELECT 1"}, {"find", "/x"}, {"images"}, {"ls", "a.test/app"}, {"history", "a.test/app"},
		{"diff", "--scan", "1"}, {"cat", "a.test/app", "/etc/passwd"},
	} {
		_, errOut, code := runCmd(t, append(args, "--db", missing)...)
		if code != exitFailure || !strings.Contains(errOut, "does not exist") || !strings.Contains(errOut, "auditor scan") {
			t.Errorf("%v on a missing database: exit %d %q", args, code, errOut)
		}
		_, errOut, code = runCmd(t, append(args, "--db", newer)...)
		if code != exitFailure || !strings.Contains(errOut, "newer") || !strings.Contains(errOut, "upgrade") {
			t.Errorf("%v on a newer database: exit %d %q", args, code, errOut)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a missing database was created")
	}
}
