package index_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/indextest"
)

// roChildDir names, in the environment of the test binary run again inside
// a private mount namespace, the read-only directory holding the copy.
const roChildDir = "AUDITOR_TEST_READONLY_DIR"

// TestReadOnlyCopy: a copy of an index the user may only read (here a
// read-only bind mount; permission bits would not stop root) is queried
// like any other, where SQLite's WAL mode cannot create its -shm file.
// As root, the test runs itself again under unshare -m, which mounts the
// copy's directory read-only for that process only; as another user, the
// directory and file are made read-only.
func TestReadOnlyCopy(t *testing.T) {
	if dir := os.Getenv(roChildDir); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o644); err == nil {
			t.Fatalf("%s is writable: the read-only mount did not take", dir)
		}
		queryCopy(t, filepath.Join(dir, "i.db"))
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "i.db")
	db, err := index.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	id, err := db.BeginScan(context.Background(), "copy", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishScan(context.Background(), id, index.ScanOK, auditor.ScanStats{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if err := os.Chmod(path, 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		queryCopy(t, path)
		return
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("running as root, and no unshare(1) to mount the copy read-only: root ignores permission bits")
	}
	if out, err := exec.Command("unshare", "-m", "mount", "--bind", dir, dir).CombinedOutput(); err != nil {
		t.Skipf("running as root, and unshare -m cannot mount here (%v: %s): root ignores permission bits", err, strings.TrimSpace(string(out)))
	}
	cmd := exec.Command("unshare", "-m", "sh", "-c", `mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$1" -test.run '^TestReadOnlyCopy$'`,
		dir, os.Args[0])
	cmd.Env = append(os.Environ(), roChildDir+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("queries of a copy on a read-only mount: %v\n%s", err, out)
	}
}

func queryCopy(t *testing.T, path string) {
	t.Helper()
	db, err := index.OpenReadOnly(context.Background(), path)
	if err != nil {
		t.Fatalf("OpenReadOnly of a read-only copy: %v", err)
	}
	defer db.Close()
	if got := indextest.Strings(t, db.Reader(), `SELECT targets || ' ' || status FROM scans`); strings.Join(got, ",") != "copy ok" {
		t.Errorf("scans of the read-only copy: %q", got)
	}
}
