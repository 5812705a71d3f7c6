package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// limitsIndex scans a small in-process registry with the binary and
// returns the index and a directory for config files.
func limitsIndex(t *testing.T) (db, dir string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	reg := strings.TrimPrefix(srv.URL, "http://")
	pushLayers(t, reg+"/team/app:1", map[string][]byte{"etc/passwd": []byte("root:x:0:0::/root:/bin/sh\n")})
	dir = t.TempDir()
	db = filepath.Join(dir, "l.db")
	if out, err := exec.Command(auditorBinary(t), "scan", "--quiet", "--db", db, reg).CombinedOutput(); err != nil {
		t.Fatalf("scan: %v\n%s", err, out)
	}
	return db, dir
}

// runLimited runs the binary with config body and reports its output, how
// long it took and its peak resident memory.
func runLimited(t *testing.T, dir, body string, args ...string) (out string, code int, took time.Duration, maxRSS int64) {
	t.Helper()
	cfg := filepath.Join(dir, fmt.Sprintf("limits-%d.toml", time.Now().UnixNano()))
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	n := 1 // the command, then its flags
	if args[0] == "rules" {
		n = 2
	}
	// Unlimited, these queries would run for hours: a minute is failure.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, auditorBinary(t), append(append(args[:n:n], "--config", cfg), args[n:]...)...)
	start := time.Now()
	b, err := cmd.CombinedOutput()
	took = time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxRSS = ru.Maxrss << 10 // KiB on Linux
	}
	return string(b), exitCode(err), took, maxRSS
}

// The queries that hung the nightly run or ate the machine.
const (
	endlessCTE = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c`
	bigSort    = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 5000000) SELECT count(*) FROM (SELECT randomblob(200) AS b FROM c ORDER BY b)`
	bigBlobs   = `SELECT length(randomblob(400000000)) + length(randomblob(400000000))`
)

// TestSQLLimits: ad hoc SQL stops at [sql] timeout and at [sql] max_memory
// (temporary space included) with an error naming the query, without
// eating the machine.
func TestSQLLimits(t *testing.T) {
	t.Parallel()
	db, dir := limitsIndex(t)
	out, code, took, _ := runLimited(t, dir, "[sql]\ntimeout = \"300ms\"\n", "sql", "--db", db, endlessCTE)
	if code != exitFailure || took > 5*time.Second || !strings.Contains(out, "stopped at its time limit (300ms)") ||
		!strings.Contains(out, `query "WITH RECURSIVE c(x) AS`) {
		t.Errorf("endless CTE with a 300ms timeout: exit %d after %s:\n%s", code, took, out)
	}
	const limit = 64 << 20
	for _, q := range []string{bigSort, bigBlobs} {
		out, code, took, rss := runLimited(t, dir, fmt.Sprintf("[sql]\nmax_memory = %d\n", limit), "sql", "--db", db, q)
		if code != exitFailure || !strings.Contains(out, "stopped at the SQLite memory limit (64 MiB)") || !strings.Contains(out, "query \"") {
			t.Errorf("%.40s... with max_memory 64 MiB: exit %d after %s:\n%s", q, code, took, out)
		}
		// The process stays near the limit (its own memory and Go's come on
		// top). Before the limits the sort spilled to temporary files for
		// 235 s (47 MB RSS) and the blobs held 795 MB.
		if rss > 250<<20 {
			t.Errorf("%.40s... with max_memory 64 MiB: peak RSS %d MiB", q, rss>>20)
		}
	}
	// The default bounds nothing a normal query needs.
	if out, code, _, _ := runLimited(t, dir, "", "sql", "--db", db, "SELECT count(*) AS n FROM files"); code != exitOK || !strings.Contains(out, "n\n1\n") {
		t.Errorf("a plain query with the defaults: exit %d\n%s", code, out)
	}
}

// TestRuleLimits: a rule that never ends or needs more memory than allowed
// fails alone, named, at its limit; the other rules' findings are recorded.
func TestRuleLimits(t *testing.T) {
	t.Parallel()
	db, dir := limitsIndex(t)
	rulesFile := filepath.Join(dir, "slow.toml")
	rule := func(id, q string) string {
		return fmt.Sprintf("[[rule]]\nid = %q\ntitle = \"t\"\nseverity = \"low\"\ndescription = \"d\"\nquery = '''\nSELECT (SELECT digest FROM images LIMIT 1) AS image_digest, NULL AS path, NULL AS layer_digest, (%s) AS detail\n'''\n", id, q)
	}
	body := rule("endless", endlessCTE) + rule("hungry", bigBlobs) + rule("fine", "SELECT 'ok'")
	if err := os.WriteFile(rulesFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("[sql]\nmax_memory = %d\n[rules]\ndefaults = false\nfiles = [%q]\ntimeout = \"500ms\"\njobs = 3\n", 64<<20, rulesFile)
	out, code, took, _ := runLimited(t, dir, cfg, "rules", "run", "--db", db, "--format", "csv")
	if code != exitFailure || took > 10*time.Second ||
		!strings.Contains(out, "rule endless ("+rulesFile+"): stopped at its time limit (500ms)") ||
		!strings.Contains(out, "rule hungry ("+rulesFile+"): stopped at the SQLite memory limit (64 MiB)") {
		t.Errorf("rules run: exit %d after %s:\n%s", code, took, out)
	}
	if n := dbStrings(t, db, `SELECT rule_id FROM findings`); len(n) != 1 || n[0] != "fine" {
		t.Errorf("findings recorded: %v, want the one of rule fine", n)
	}
	out, code, _, _ = runLimited(t, dir, cfg, "rules", "test", "--db", db, rulesFile)
	if code != exitFailure || !strings.Contains(out, "rule endless ("+rulesFile+"): stopped at its time limit (500ms)") {
		t.Errorf("rules test: exit %d:\n%s", code, out)
	}
}
