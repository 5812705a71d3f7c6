package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/faultproxy"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/indextest"
	"github.com/auditor-dev/auditor/queries/querytest"
)

// These tests run the real auditor binary, built once per test run, as a
// cron job would: killed, interrupted, and racing another scan.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	querytest.Cleanup() // and fleettest's
	os.Exit(code)
}

// auditorBinary builds cmd/auditor once per test binary.
func auditorBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "auditor-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "auditor")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// scanConfig writes a config.toml scanning the fleet registry into db, at
// most rps requests per second (0: unlimited) so a scan lasts long enough
// to be interrupted.
func scanConfig(t *testing.T, dir, db string, rps float64) string {
	t.Helper()
	reg := fleettest.Registry(t)
	p := filepath.Join(dir, fmt.Sprintf("config-%g.toml", rps))
	body := fmt.Sprintf("db = %q\ntargets = [%q]\n[registries.%q]\nrequests_per_second = %g\n", db, reg, reg, rps) + fleettest.IncludeTOML(t)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// scanCmd returns an `auditor scan` of the fleet with config cfg.
func scanCmd(t *testing.T, cfg string, extra ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(auditorBinary(t), append([]string{"scan", "--quiet", "--config", cfg}, extra...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no docker config of the host
	return cmd, &out
}

var (
	cleanOnce sync.Once
	cleanDB   string
	cleanErr  error
)

// cleanIndex is an index made by one uninterrupted run of the binary.
func cleanIndex(t *testing.T) string {
	t.Helper()
	fleettest.Registry(t)
	bin := auditorBinary(t)
	cleanOnce.Do(func() {
		var dir string
		dir, cleanErr = os.MkdirTemp(binDir, "clean-")
		if cleanErr != nil {
			return
		}
		cleanDB = filepath.Join(dir, "clean.db")
		cfg := scanConfig(t, dir, cleanDB, 0)
		cmd := exec.Command(bin, "scan", "--quiet", "--config", cfg)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			cleanErr = fmt.Errorf("clean scan: %v\n%s", err, out)
		}
	})
	if cleanErr != nil {
		t.Fatal(cleanErr)
	}
	return cleanDB
}

var (
	cleanDumpOnce sync.Once
	cleanDump     map[string][]string
	cleanDumpErr  error
)

// equalToClean fails t if the index at db differs in content from the
// clean index.
func equalToClean(t *testing.T, db, clean string) {
	t.Helper()
	cleanDumpOnce.Do(func() { cleanDump, cleanDumpErr = indextest.Dump(context.Background(), clean) })
	if cleanDumpErr != nil {
		t.Fatal(cleanDumpErr)
	}
	got, err := indextest.Dump(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if d := indextest.Diff(got, cleanDump); d != "" {
		t.Errorf("index %s differs from a clean scan's:\n%s", db, d)
	}
}

func scanStatuses(t *testing.T, db string) []string {
	t.Helper()
	d, err := index.OpenReadOnly(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	return indextest.Strings(t, d.Reader(), `SELECT status FROM scans ORDER BY id`)
}

// waitScanRunning waits until the scan writing db has recorded itself as
// running (so that a signal sent now interrupts a scan, however slowly a
// loaded machine started the binary), failing the test after limit.
func waitScanRunning(t *testing.T, db string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(db); err == nil {
			if d, err := index.OpenReadOnly(context.Background(), db); err == nil {
				var n int
				err := d.Reader().QueryRow(`SELECT count(*) FROM scans WHERE status = ?`, index.ScanRunning).Scan(&n)
				d.Close()
				if err == nil && n > 0 {
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no running scan recorded in %s after %s", db, limit)
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// seededRand returns a random source for the test's choices (kill times),
// seeded from AUDITOR_TEST_SEED when set, else from the clock; the seed is
// logged, so that a failure shows how to replay it.
func seededRand(t *testing.T, stream uint64) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("AUDITOR_TEST_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("AUDITOR_TEST_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("random seed %d (replay: AUDITOR_TEST_SEED=%d go test ./cmd/auditor -run '^%s$')", seed, seed, t.Name())
	return rand.New(rand.NewPCG(seed, stream))
}

// TestKilledScansResume kills scans with SIGKILL at random points, three
// times per round on the same database, then lets one finish: the database must pass
// integrity_check after every kill and end equal to a clean scan's.
func TestKilledScansResume(t *testing.T) {
	t.Parallel()
	clean := cleanIndex(t)
	rng := seededRand(t, 1)
	rounds := 2
	if n, err := strconv.Atoi(os.Getenv("AUDITOR_KILL_ROUNDS")); err == nil && n > 0 {
		rounds = n // a longer soak: AUDITOR_KILL_ROUNDS=20 go test -run TestKilledScansResume
	}
	for round := range rounds {
		dir := t.TempDir()
		db := filepath.Join(dir, "killed.db")
		cfg := scanConfig(t, dir, db, 0)
		var delays []time.Duration
		for range 3 {
			d := time.Duration(20+rng.IntN(900)) * time.Millisecond
			delays = append(delays, d)
			cmd, out := scanCmd(t, cfg)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(d)
			cmd.Process.Signal(syscall.SIGKILL)
			if err := cmd.Wait(); exitCode(err) > 0 {
				// It finished before the kill; that is fine, but say so if it failed.
				if c := exitCode(err); c != 0 {
					t.Fatalf("round %d: scan exited %d before the kill at %s:\n%s", round, c, d, out)
				}
			}
			if _, err := os.Stat(db); err == nil {
				indextest.IntegrityOK(t, db)
			}
		}
		cmd, out := scanCmd(t, cfg)
		if err := cmd.Run(); err != nil {
			t.Fatalf("round %d (killed after %v): re-run: %v\n%s", round, delays, err, out)
		}
		st := scanStatuses(t, db)
		if st[len(st)-1] != index.ScanOK {
			t.Errorf("round %d: last scan %s", round, st[len(st)-1])
		}
		for _, s := range st {
			if s == index.ScanRunning {
				t.Errorf("round %d: a killed scan is still recorded running: %v", round, st)
			}
		}
		indextest.IntegrityOK(t, db)
		equalToClean(t, db, clean)
		if t.Failed() {
			t.Fatalf("round %d: killed after %v", round, delays)
		}
	}
}

// TestSignalsStopCleanly interrupts scans with SIGINT and SIGTERM: each
// exits 130, its scan is recorded interrupted, and a re-run completes the
// index.
func TestSignalsStopCleanly(t *testing.T) {
	t.Parallel()
	clean := cleanIndex(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "i.db")
			cmd, out := scanCmd(t, scanConfig(t, dir, db, 40))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitScanRunning(t, db, 60*time.Second)
			sent := time.Now()
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			t.Logf("stopped in %s", time.Since(sent))
			if d := time.Since(sent); d > 10*time.Second {
				t.Errorf("took %s to stop after %s", d, sig)
			}
			if c := exitCode(err); c != exitInterrupted {
				t.Fatalf("exit %d after %s, want %d:\n%s", c, sig, exitInterrupted, out)
			}
			if st := scanStatuses(t, db); len(st) != 1 || st[0] != index.ScanInterrupted {
				t.Errorf("scans after %s: %v, want [interrupted]", sig, st)
			}
			indextest.IntegrityOK(t, db)
			cmd, out = scanCmd(t, scanConfig(t, dir, db, 0))
			if err := cmd.Run(); err != nil {
				t.Fatalf("re-run: %v\n%s", err, out)
			}
			equalToClean(t, db, clean)
		})
	}
}

// TestConcurrentScans runs a slow scan, a second one that must refuse
// with a clear message, a third that waits its turn with -wait, and a
// reader querying throughout.
func TestConcurrentScans(t *testing.T) {
	t.Parallel()
	clean := cleanIndex(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "i.db")
	slow := scanConfig(t, dir, db, 40)
	first, firstOut := scanCmd(t, slow)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the first scan has recorded itself.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(db); err == nil {
			if d, err := index.OpenReadOnly(context.Background(), db); err == nil {
				var n int
				d.Reader().QueryRow(`SELECT count(*) FROM scans`).Scan(&n)
				d.Close()
				if n > 0 {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("first scan did not start:\n%s", firstOut)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The lock is the database file's, whatever name it is given by: the
	// path itself, a symlink or a hard link.
	symlink, hardlink := filepath.Join(dir, "sym.db"), filepath.Join(dir, "hard.db")
	if err := os.Symlink(db, symlink); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(db, hardlink); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{db, symlink, hardlink} {
		second, secondOut := scanCmd(t, slow, "--db", name)
		err := second.Run()
		want := fmt.Sprintf("pid %d, scan 1 started ", first.Process.Pid)
		if name == hardlink {
			want = fmt.Sprintf("pid %d", first.Process.Pid) // SQLite finds the WAL by name: the row may not be visible through a hard link
		}
		if c := exitCode(err); c != exitFailure || !strings.Contains(secondOut.String(), "another scan is writing to this database") ||
			!strings.Contains(secondOut.String(), want) {
			t.Errorf("second scan with --db %s: exit %d, output:\n%s\nwant exit %d and a message naming the running scan (pid %d, scan 1)",
				name, c, secondOut, exitFailure, first.Process.Pid)
		}
	}

	// SQLite names the WAL after the path it opens, so the scan that waits
	// its turn writes through the symlink (SQLite resolves it) while this
	// test reads through the real name.
	third, thirdOut := scanCmd(t, scanConfig(t, dir, symlink, 0), "-wait")
	if err := third.Start(); err != nil {
		t.Fatal(err)
	}

	// Readers work while the scan writes.
	rd, err := index.OpenReadOnly(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	var firstErr error
loop:
	for {
		select {
		case firstErr = <-done:
			break loop
		default:
		}
		var files, images int
		if err := rd.Reader().QueryRow(`SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM images)`).Scan(&files, &images); err != nil {
			t.Errorf("read during the scan: %v", err)
			break
		}
		reads++
		time.Sleep(100 * time.Millisecond)
	}
	rd.Close()
	if firstErr != nil {
		t.Fatalf("first scan: %v\n%s", firstErr, firstOut)
	}
	if reads < 5 {
		t.Errorf("only %d reads during the scan", reads)
	}
	if err := third.Wait(); err != nil {
		t.Fatalf("waiting scan: %v\n%s", err, thirdOut)
	}
	if st := scanStatuses(t, db); len(st) != 2 || st[0] != index.ScanOK || st[1] != index.ScanOK {
		t.Errorf("scans: %v, want [ok ok] (the refused one records nothing)", st)
	}
	indextest.IntegrityOK(t, db)
	equalToClean(t, db, clean)
}

// TestScanRefusesNewerSchema runs a scan on a database from a newer
// auditor: it must refuse with a clear message and leave it alone.
func TestScanRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "future.db")
	d, err := index.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO migrations (name, applied) VALUES ('9999_future.sql', 'x')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	cmd := exec.Command(auditorBinary(t), "scan", "--quiet", "--db", db, "127.0.0.1:1")
	out, err := cmd.CombinedOutput()
	if c := exitCode(err); c != exitFailure || !strings.Contains(string(out), "newer than this auditor") {
		t.Errorf("scan of a newer database: exit %d:\n%s", c, out)
	}
}

// TestScanOfDownRegistry runs the binary against a registry whose
// manifests and blobs all fail: it must end within seconds with exit 3 and
// an error line per image.
func TestScanOfDownRegistry(t *testing.T) {
	t.Parallel()
	fleettest.Registry(t)
	up := os.Getenv("FLEET_URL")
	if up == "" {
		up = "http://" + os.Getenv("FLEET_REGISTRY")
	}
	p, err := faultproxy.New(up, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetRules(
		faultproxy.Rule{Kind: faultproxy.Manifest, Fault: faultproxy.Status503, Rate: 1},
		faultproxy.Rule{Kind: faultproxy.Blob, Fault: faultproxy.Status503, Rate: 1},
	)
	// The retry schedule is shortened through config.toml (the crawl tests
	// time the defaults).
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("[retry]\nbackoff = \"50ms\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(auditorBinary(t), "scan", "--quiet", "--config", cfg, "--db", filepath.Join(dir, "i.db"), p.Addr())
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("scan of a registry that is down took %s", d)
	}
	if c := exitCode(err); c != exitScanErrors {
		t.Errorf("exit %d, want %d:\n%s", c, exitScanErrors, out)
	}
	if n := strings.Count(string(out), "\nerror: "); n < 5 || !strings.Contains(string(out), "503") {
		t.Errorf("%d error lines:\n%s", n, out)
	}
}
