package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/pgtest"
	"github.com/auditor-dev/auditor/internal/viewdump"
	"github.com/auditor-dev/auditor/postgres"
)

// ownFleet starts this test's own fleet registry (registry-up in a
// directory of its own, on a port of its own), pushes the fleet into it,
// and returns its host:port and its log: the log then holds only this
// test's requests, whatever other tests (other packages) do meanwhile to
// the shared registry.
func ownFleet(t *testing.T) (string, string) {
	t.Helper()
	fleettest.Registry(t) // the fleet tests are on
	shared := fleettest.Dir(t)
	dir := t.TempDir()
	vars, env := registryUp(t, dir)
	reg := strings.Trim(vars["FLEET_REGISTRY"], `"'`)
	if reg == "" {
		t.Fatalf("registry-up exported no FLEET_REGISTRY: %v", vars)
	}
	fleettest.PushFleet(t, append(env, "FLEET_IMAGES="+filepath.Join(shared, "images")))
	return reg, filepath.Join(dir, "registry.log")
}

// blobGET is a GET of a blob in the registry's access log.
var blobGET = regexp.MustCompile(`"GET /v2/\S+/blobs/(sha256:[0-9a-f]{64}) HTTP`)

// blobGETs counts the GETs of each blob in the registry log from offset on.
func blobGETs(t *testing.T, log string, offset int64) map[string]int {
	t.Helper()
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if m := blobGET.FindStringSubmatch(sc.Text()); m != nil {
			n[m[1]]++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestWorkersKilledMidLayer: the fleet scanned by `auditor scan` into
// SQLite, and by three `auditor scan --worker` processes sharing one scan
// into PostgreSQL, the first of them killed (SIGKILL) in the middle of a
// layer (AUDITOR_TEST_PAUSE_MID_LAYER stops it after 1000 entries of its
// first big layer, its lease still renewed until it dies): every public
// view is the same, row for row (the findings of the default pack too);
// the killed worker's layer was taken over (claimed twice) and stored
// once; the rules ran once; the log of the test's own registry shows every
// blob fetched once by the workers, but the killed layer's, fetched again
// by the worker that took it over.
func TestWorkersKilledMidLayer(t *testing.T) {
	reg, registryLog := ownFleet(t)
	bin := auditorBinary(t)
	dir := t.TempDir()
	env := append(os.Environ(), "HOME="+dir, "AUDITOR_TEST_NOW=2026-03-04T05:06:07Z")
	scanConfig := func(dir, db string) string {
		p := filepath.Join(dir, "config.toml")
		body := fmt.Sprintf("db = %q\ntargets = [%q]\n[registries.%q]\n", db, reg, reg) + fleettest.IncludeTOML(t)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	lite := filepath.Join(dir, "fleet.db")
	cmd := exec.Command(bin, "scan", "--quiet", "--config", scanConfig(dir, lite))
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("SQLite scan: %v\n%s", err, out)
	}

	dsn := pgtest.Database(t)
	pdir := filepath.Join(dir, "pg")
	if err := os.Mkdir(pdir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := scanConfig(pdir, dsn)
	offset := fileSize(t, registryLog)
	worker := func(name string, extraEnv ...string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(bin, "scan", "--quiet", "--config", cfg, "--worker", "--worker-name", name, "--lease", "3s")
		cmd.Env = append(slices.Clone(env), extraEnv...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd, &out
	}

	// The first worker records the scan, plans the registry, and stops
	// in the middle of its first layer of 1000 entries or more.
	w1, _ := worker("w1", "AUDITOR_TEST_PAUSE_MID_LAYER=1000")
	w1.Stderr = nil
	stderr, err := w1.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w1.Start(); err != nil {
		t.Fatal(err)
	}
	defer w1.Process.Kill()
	paused := make(chan string, 1)
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
			if m := regexp.MustCompile(`paused in layer (sha256:[0-9a-f]{64})`).FindStringSubmatch(sc.Text()); m != nil {
				paused <- m[1]
			}
		}
	}()
	var layer string
	select {
	case layer = <-paused:
	case <-time.After(time.Minute):
		w1.Process.Kill()
		close(lines)
		var all []string
		for l := range lines {
			all = append(all, l)
		}
		t.Fatalf("the first worker never paused mid-layer:\n%s", strings.Join(all, "\n"))
	}
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	ctx := context.Background()
	waitFor := func(what, query string) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); ; {
			var ok bool
			if err := pg.QueryRowContext(ctx, query).Scan(&ok); err != nil {
				t.Fatal(err)
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("the registry planned", `SELECT bool_and(planned) FROM work_plans`)

	// Two more workers join; then the first dies, its layer half read.
	w2, out2 := worker("w2")
	w3, out3 := worker("w3")
	for _, w := range []*exec.Cmd{w2, w3} {
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Process.Kill()
	}
	waitFor("the others joined", `SELECT count(*) = 2 FROM work_workers WHERE name IN ('w2', 'w3')`)
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w1.Wait()
	ends := make(chan error, 2)
	for _, w := range []*exec.Cmd{w2, w3} {
		go func() { ends <- w.Wait() }()
	}
	timeout := time.After(8 * time.Minute)
	for range 2 {
		select {
		case err := <-ends:
			if err != nil {
				t.Fatalf("a worker: %v\nw2:\n%s\nw3:\n%s", err, out2, out3)
			}
		case <-timeout:
			w2.Process.Signal(syscall.SIGQUIT) // their goroutines, on their stderr
			w3.Process.Signal(syscall.SIGQUIT)
			time.Sleep(time.Second)
			t.Fatalf("the workers did not end:\nw2:\n%s\nw3:\n%s", out2, out3)
		}
	}
	ended := 0
	for _, out := range []*bytes.Buffer{out2, out3} {
		if strings.Contains(out.String(), "ended by another worker") {
			ended++
		}
	}
	if ended != 1 {
		t.Errorf("%d of the two workers left the end of the scan to another, want 1:\n%s\n%s", ended, out2, out3)
	}

	// The killed worker's layer: claimed again after its lease lapsed,
	// done by another.
	var claims int
	var owner, state string
	if err := pg.QueryRowContext(ctx, `SELECT claims, owner, state FROM work_items WHERE kind = 0 AND key = $1`, layer).Scan(&claims, &owner, &state); err != nil {
		t.Fatal(err)
	}
	if claims != 2 || owner == "w1" || state != "done" {
		t.Errorf("the killed worker's layer %s: claimed %d times, last by %s, %s; want 2, another worker, done", layer, claims, owner, state)
	}
	var status string
	var rules int
	if err := pg.QueryRowContext(ctx, `SELECT s.status, (SELECT count(*) FROM rule_runs r WHERE r.scan_id = s.id) FROM scans s`).Scan(&status, &rules); err != nil {
		t.Fatal(err)
	}
	if status != index.ScanOK || rules == 0 {
		t.Errorf("the shared scan: %s, %d rule runs", status, rules)
	}

	// Every blob fetched once by the workers; the killed layer's twice.
	gets := blobGETs(t, registryLog, offset)
	if len(gets) == 0 {
		t.Fatal("no blob GET in the registry log")
	}
	for d, n := range gets {
		if want := map[bool]int{true: 2, false: 1}[d == layer]; n != want {
			t.Errorf("blob %s fetched %d times, want %d", d, n, want)
		}
	}

	liteDB, err := sql.Open("sqlite", "file:"+lite+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer liteDB.Close()
	views := viewdump.Public(t, liteDB)
	// A layer blob two images list with different media types keeps the
	// type of whichever image's read stored it first; config_visible (an
	// internal view) shows content_id, a surrogate key numbered in the order
	// contents were first stored, which concurrent reads decide.
	views["layers"] = slices.DeleteFunc(views["layers"], func(c string) bool { return c == "media_type" })
	views["config_visible"] = slices.DeleteFunc(views["config_visible"], func(c string) bool { return c == "content_id" })
	viewdump.Compare(t, views, liteDB, nil, pg, postgres.Bytes)
	for _, v := range []string{"findings", "open_findings", "image_files", "packages"} {
		rows, err := viewdump.Dump(ctx, pg, v, views[v], postgres.Bytes)
		if err != nil || len(rows) == 0 {
			t.Errorf("view %s: %d rows, %v", v, len(rows), err)
		}
	}
	if t.Failed() {
		fmt.Fprintf(os.Stderr, "w2:\n%s\nw3:\n%s\n", out2, out3)
	}
}

// TestWorkerNeedsPostgres: --worker on a SQLite index is refused before
// anything is opened or recorded, saying why.
func TestWorkerNeedsPostgres(t *testing.T) {
	db := filepath.Join(t.TempDir(), "index.db")
	_, errOut, code := runCmd(t, "scan", "--worker", "--db", db, "registry.example.com")
	if code != exitUsage || !strings.Contains(errOut, "--worker needs a PostgreSQL database") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("%s was created", db)
	}
}
