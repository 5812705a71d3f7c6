package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/indextest"
)

// fullDiskEnv names the small file system TestScanOnFullDisk runs in, and
// fullDiskBin the binary, when the test runs itself under unshare -m.
const fullDiskEnv, fullDiskBin = "AUDITOR_TEST_FULL_DISK", "AUDITOR_TEST_FULL_DISK_BIN"

// TestScanOnFullDisk scans the fleet into a database on a real file system
// that fills up during the scan (a 24 MiB tmpfs, most of it taken by a
// filler file): the layers that no longer fit fail, the scan keeps their
// errors in memory and says the disk is full; the test then gives the
// space back (removes the filler), and the scan is recorded failed with
// every error it reported, its database intact (a full disk lost the error
// rows and left the scan running). As root, the test runs itself again
// under unshare -m with a tmpfs mounted there.
func TestScanOnFullDisk(t *testing.T) {
	dir := os.Getenv(fullDiskEnv)
	if dir == "" {
		fleettest.Registry(t) // skipped without the fleet, before anything else
		if os.Geteuid() != 0 {
			t.Skip("mounting a small file system needs root")
		}
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Skip("no unshare(1) to mount a small file system")
		}
		dir = t.TempDir()
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("unshare", "-m", "sh", "-c", `mount -t tmpfs -o size=24m tmpfs "$0" && exec "$1" -test.run '^TestScanOnFullDisk$' -test.v`, dir, self)
		cmd.Env = append(os.Environ(), fullDiskEnv+"="+dir, fullDiskBin+"="+auditorBinary(t))
		out, err := cmd.CombinedOutput()
		if err != nil {
			if bytes.Contains(out, []byte("mount:")) {
				t.Skipf("cannot mount a tmpfs here: %s", out)
			}
			t.Fatalf("%v\n%s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "fulldisk_test.go") {
				t.Log(strings.TrimSpace(l))
			}
		}
		return
	}

	// In the namespace: dir is a 24 MiB tmpfs. Leave 1.5 MiB: the fleet's
	// index is several times that.
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 22<<20+512<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "full.db")
	reg := fleettest.Registry(t)
	cfg := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("db = %q\ntargets = [%q]\n[registries.%q]\n", db, reg, reg)+fleettest.IncludeTOML(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Getenv(fullDiskBin), "scan", "--no-progress", "--config", cfg)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TMPDIR="+t.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stuck := time.AfterFunc(3*time.Minute, func() { cmd.Process.Kill() })
	defer stuck.Stop()
	var mu sync.Mutex
	var lines []string
	full := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
			if strings.Contains(sc.Text(), "the disk is full") {
				once.Do(func() { close(full) })
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	notified := false
	select {
	case <-full:
		notified = true
		t.Logf("the scan said the disk is full; giving the space back")
	case <-done:
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	<-done
	err = cmd.Wait()
	mu.Lock()
	all := strings.Join(lines, "\n")
	mu.Unlock()
	if c := exitCode(err); c != exitFailure {
		t.Fatalf("exit %d, want %d (failed):\n%s\n%s", c, exitFailure, stdout.String(), all)
	}
	var reported int
	for _, l := range lines {
		if strings.HasPrefix(l, "error: ") {
			reported++
		}
	}
	indextest.IntegrityOK(t, db)
	d, err := index.OpenReadOnly(context.Background(), db)
	if err != nil {
		t.Fatalf("%v:\n%s\n%s", err, stdout.String(), all)
	}
	defer d.Close()
	var status string
	var recorded, full0 int
	if err := d.Reader().QueryRow(`SELECT status, (SELECT count(*) FROM scan_errors WHERE scan_id = s.id),
		(SELECT count(*) FROM scan_errors WHERE scan_id = s.id AND message LIKE '%full%') FROM scans s ORDER BY id DESC LIMIT 1`).Scan(&status, &recorded, &full0); err != nil {
		t.Fatal(err)
	}
	t.Logf("disk-full notice before the space came back: %v; %d errors printed, %d recorded (%d naming the full disk), status %s",
		notified, reported, recorded, full0, status)
	if status != index.ScanFailed || recorded == 0 || recorded != reported || full0 == 0 {
		t.Errorf("scan recorded %s with %d errors (%d naming the full disk); it printed %d, want failed with all of them:\n%s\n%s",
			status, recorded, full0, reported, stdout.String(), all)
	}
	if !strings.Contains(stdout.String()+all, "disk") {
		t.Errorf("nothing said the disk was full:\n%s\n%s", stdout.String(), all)
	}
}
