//go:build unix

package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestScanLockIsTheFiles takes the scan lock through the database's path,
// a symlink, a hard link and a relative path: each is the same lock. (flock
// locks belong to an open file, so one process can hold and contend for it.)
func TestScanLockIsTheFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "i.db")
	ctx := context.Background()
	lock, err := LockScan(ctx, path, false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	id, err := db.BeginScan(ctx, "test", "v")
	if err != nil {
		t.Fatal(err)
	}
	sym, hard := filepath.Join(dir, "sym.db"), filepath.Join(dir, "hard.db")
	if err := os.Symlink("i.db", sym); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(path, hard); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(mustGetwd(t), path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, sym, hard, rel, dir + "/./i.db"} {
		l, err := LockScan(ctx, name, false)
		if !errors.Is(err, ErrScanRunning) {
			l.Unlock()
			t.Errorf("LockScan(%s) while held: %v, want %v", name, err, ErrScanRunning)
			continue
		}
		// SQLite finds the WAL by the name it opens, so through a hard
		// link the running scan's row may not be visible yet: the pid is.
		want := fmt.Sprintf("scan %d started ", id)
		if runtime.GOOS == "linux" {
			want = fmt.Sprintf("auditor pid %d, %s", os.Getpid(), want)
			if name == hard {
				want = fmt.Sprintf("auditor pid %d", os.Getpid())
			}
		} else if name == hard {
			want = ErrScanRunning.Error()
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("LockScan(%s): %v, want it to name the holder (%s...)", name, err, want)
		}
	}

	// One that waits gets the lock once it is released, through any name.
	got := make(chan error, 1)
	go func() {
		l, err := LockScan(ctx, hard, true)
		if err == nil {
			err = l.Unlock()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("LockScan with wait returned while the lock was held: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := lock.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting LockScan: %v", err)
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
