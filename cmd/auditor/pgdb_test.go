package main

import (
	"context"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/pgtest"
	"github.com/auditor-dev/auditor/postgres"
)

// TestScanIntoPostgres: --db postgres://... makes auditor scan write the
// real PostgreSQL test server (the fleet's images land in its views; the
// rules are not run there yet, and it says so), and the other commands
// refuse it as a usage error. The DSN's password (trust authentication
// ignores it) appears in no output and nowhere in the database.
func TestScanIntoPostgres(t *testing.T) {
	ctx := context.Background()
	reg := fleettest.Registry(t)
	const secret = "s3cr3t-pw-4711"
	dsn := pgtest.Database(t) + "&password=" + secret
	if !strings.Contains(dsn, "?") {
		t.Fatalf("test DSN %s has no query: the password would not be a parameter", postgres.Redact(dsn))
	}
	out, errOut, code := runCmd(t, "scan", "--no-progress", "--db", dsn, reg+"/library/debian:bookworm", reg+"/tools/busybox:1.35")
	if code != exitOK {
		t.Fatalf("scan: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "scan 1: ok") || !strings.Contains(out, "images          3") {
		t.Errorf("summary:\n%s", out)
	}
	if !strings.Contains(errOut, "rules not run: the PostgreSQL back end stores no findings yet") {
		t.Errorf("stderr does not say the rules did not run:\n%s", errOut)
	}
	pg, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var images, files int
	if err := pg.Reader().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM image_files WHERE visible)`).
		Scan(&images, &files); err != nil {
		t.Fatal(err)
	}
	if images != 3 || files < 1000 {
		t.Errorf("PostgreSQL holds %d images, %d visible files; want 3 and the Debian and busybox files", images, files)
	}
	var leaked int
	if err := pg.Reader().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM scans WHERE targets LIKE '%'||$1||'%' OR auditor_version LIKE '%'||$1||'%')
		+ (SELECT count(*) FROM scan_errors WHERE message LIKE '%'||$1||'%')`, secret).Scan(&leaked); err != nil || leaked != 0 {
		t.Errorf("the password is in %d scan rows (%v)", leaked, err)
	}
	if strings.Contains(out+errOut, secret) {
		t.Errorf("scan printed the password:\n%s%s", out, errOut)
	}

	for _, args := range [][]string{
		{"images"}, {"ls", "library/debian:bookworm"}, {"find", "/etc/passwd"}, {"cat", "library/debian:bookworm", "/etc/passwd"},
		{"history", "library/debian:bookworm"}, {"diff", "--scan", "1"}, {"report"}, {"sql", "SELECT 1"}, {"rules", "run"},
	} {
		out, errOut, code := runCmd(t, append(args, "--db", dsn)...)
		if code != exitUsage || !strings.Contains(errOut, "does not read PostgreSQL yet") || !strings.Contains(errOut, "password=xxxxx") {
			t.Errorf("%s: exit %d, stderr %q; want %d and a refusal naming the DSN without its password", args[0], code, errOut, exitUsage)
		}
		if strings.Contains(out+errOut, secret) {
			t.Errorf("%s printed the password:\n%s%s", args[0], out, errOut)
		}
	}
}
