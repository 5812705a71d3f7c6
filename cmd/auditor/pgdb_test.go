package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/pgtest"
	"github.com/auditor-dev/auditor/postgres"
)

// TestScanIntoPostgres: --db postgres://... makes auditor scan write the
// real PostgreSQL test server (the fleet's images land in its views, the
// rules run and their findings are stored there), and every read command
// gives on it what it gives on a SQLite index of the same scan. auditor
// sql there is read-only by privilege: a private table or a writing CTE
// is refused by the server. The DSN's password (trust authentication
// ignores it) appears in no output and nowhere in the database.
func TestScanIntoPostgres(t *testing.T) {
	ctx := context.Background()
	reg := fleettest.Registry(t)
	const secret = "s3cr3t-pw-4711"
	dsn := pgtest.Database(t) + "&password=" + secret
	if !strings.Contains(dsn, "?") {
		t.Fatalf("test DSN %s has no query: the password would not be a parameter", postgres.Redact(dsn))
	}
	targets := []string{reg + "/library/debian:bookworm", reg + "/tools/busybox:1.35", reg + "/corp/billing-worker:2.0", reg + "/ops/toolbox:2025.06",
		reg + "/apps/nginx:1.22", reg + "/apps/redis:7.0", reg + "/edge/corner-cases:v1"}
	out, errOut, code := runCmd(t, append([]string{"scan", "--no-progress", "--db", dsn}, targets...)...)
	if code != exitOK && code != exitFindings {
		t.Fatalf("scan: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "scan 1: ok") || !strings.Contains(out, "rules: ") {
		t.Errorf("summary (with the rules' line):\n%s", out)
	}
	lite := filepath.Join(t.TempDir(), "index.db")
	if o, e, c := runCmd(t, append([]string{"scan", "--no-progress", "--db", lite}, targets...)...); c != code {
		t.Fatalf("scan into SQLite: exit %d, PostgreSQL's %d\n%s%s", c, code, o, e)
	}
	pg, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var images, files, findings int
	if err := pg.Reader().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM image_files WHERE visible),
		(SELECT count(*) FROM findings)`).Scan(&images, &files, &findings); err != nil {
		t.Fatal(err)
	}
	if images < 7 || files < 1000 || findings == 0 {
		t.Errorf("PostgreSQL holds %d images, %d visible files, %d findings; want 7 or more, their files, findings", images, files, findings)
	}
	var leaked int
	if err := pg.Reader().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM scans WHERE targets LIKE '%'||$1||'%' OR auditor_version LIKE '%'||$1||'%')
		+ (SELECT count(*) FROM scan_errors WHERE message LIKE '%'||$1||'%')`, secret).Scan(&leaked); err != nil || leaked != 0 {
		t.Errorf("the password is in %d scan rows (%v)", leaked, err)
	}
	if strings.Contains(out+errOut, secret) {
		t.Errorf("scan printed the password:\n%s%s", out, errOut)
	}

	// The same output from either back end (the lines with times or
	// durations of the run left out).
	timeless := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(l, "rules: ") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	for _, args := range [][]string{
		{"ls", "library/debian:bookworm", "/etc"}, {"ls", "--all-layers", "--platform", "linux/amd64", "tools/busybox:1.35", "/bin"},
		{"find", "/etc/passwd"}, {"find", "/usr/bin/*sh"}, {"cat", "library/debian:bookworm", "/etc/passwd"},
		{"history", "library/debian:bookworm"}, {"packages", "library/debian:bookworm"},
		{"diff", "--platform", "linux/amd64", "library/debian:bookworm", "tools/busybox:1.35"},
		{"sql", "SELECT path, printf('%04o', mode), basename(path) FROM image_files WHERE path LIKE '/ETC/PASS%' AND mode & 256 ORDER BY 1, 2"},
		{"rules", "run", "--state", "new"}, {"rules", "run", "--state", "open", "--format", "csv"},
	} {
		want, wantErr, wantCode := runCmd(t, append(args, "--db", lite)...)
		got, gotErr, gotCode := runCmd(t, append(args, "--db", dsn)...)
		if gotCode != wantCode || timeless(got) != timeless(want) {
			t.Errorf("%s: PostgreSQL exit %d\n%s%s\nSQLite exit %d\n%s%s", strings.Join(args, " "), gotCode, got, gotErr, wantCode, want, wantErr)
		} else if want == "" || wantCode != exitOK {
			t.Errorf("%s: exit %d, no output or an error: %s", strings.Join(args, " "), wantCode, wantErr)
		}
		if strings.Contains(got+gotErr, secret) {
			t.Errorf("%s printed the password:\n%s%s", args[0], got, gotErr)
		}
	}
	if out, errOut, code := runCmd(t, "report", "--db", dsn); code != exitOK || !strings.Contains(out, "scan 1") {
		t.Errorf("report: exit %d\n%s%s", code, out, errOut)
	}
	// Read-only by privilege: the server itself refuses.
	for q, why := range map[string]string{
		`SELECT count(*) FROM paths`:                                       "permission denied",
		`WITH gone AS (DELETE FROM scans RETURNING id) SELECT * FROM gone`: "read-only transaction",
		`SELECT date('now')`:                                               "date()",
	} {
		out, errOut, code := runCmd(t, "sql", q, "--db", dsn)
		if code == exitOK || !strings.Contains(errOut, why) {
			t.Errorf("sql %s: exit %d, stdout %q, stderr %q; want a refusal saying %q", q, code, out, errOut, why)
		}
	}
	var scans int
	if err := pg.Reader().QueryRowContext(ctx, `SELECT count(*) FROM scans`).Scan(&scans); err != nil || scans != 1 {
		t.Errorf("%d scans after auditor sql (%v), want 1", scans, err)
	}
}
