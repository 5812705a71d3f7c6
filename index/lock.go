package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrScanRunning is returned by LockScan when another process holds the
// scan lock of the same database.
var ErrScanRunning = errors.New("another scan is writing to this database")

// ScanLock is the lock that makes one process at a time scan into a
// database. It is an advisory lock (flock) on the database file itself, so
// every name of the file (a symlink, a hard link, a relative path) takes the
// same lock, and the operating system releases it when the holder exits,
// however it exits: a killed scan never leaves a stale lock. It does not
// conflict with SQLite's own locks (POSIX record locks), so readers go on
// while a scan holds it.
type ScanLock struct {
	f *os.File
}

// LockScan takes the scan lock of the database at path, creating an empty
// file there if there is none (SQLite takes an empty file as a new
// database). When another process holds it, LockScan returns an error
// wrapping ErrScanRunning that names that process and its scan, or, if wait
// is true, waits until it is free or ctx ends.
//
// Take it before opening the database and Unlock it after closing every
// connection to it: closing the lock's descriptor drops this process's
// POSIX locks on the file, SQLite's among them.
func LockScan(ctx context.Context, path string, wait bool) (*ScanLock, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("scan lock %s: %w", path, err)
	}
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("scan lock %s: %w", path, err)
		}
		if ok {
			return &ScanLock{f: f}, nil
		}
		if !wait {
			holder := describeHolder(ctx, f, path)
			f.Close()
			return nil, fmt.Errorf("%w (%s): %s; wait for it to finish, or run with -wait to queue behind it", ErrScanRunning, path, holder)
		}
		t := time.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, context.Cause(ctx)
		case <-t.C:
		}
	}
}

// describeHolder names the process holding the lock on f (where the system
// tells: Linux's /proc/locks) and the scan it recorded as running.
func describeHolder(ctx context.Context, f *os.File, path string) string {
	s := "held by another process"
	if pid := lockHolder(f); pid > 0 {
		s = fmt.Sprintf("auditor pid %d", pid)
	}
	db, err := OpenReadOnly(ctx, path)
	if err != nil {
		return s // the first scan has not created its schema yet
	}
	defer db.Close()
	var id int64
	var started string
	err = db.r.QueryRowContext(ctx, `SELECT id, started FROM scans WHERE status = ? ORDER BY id DESC LIMIT 1`, ScanRunning).Scan(&id, &started)
	if err == nil {
		s += fmt.Sprintf(", scan %d started %s", id, started)
	}
	return s
}

// Unlock releases the lock. Call it after the database is closed (see
// LockScan).
func (l *ScanLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	unlock(l.f)
	err := l.f.Close()
	l.f = nil
	return err
}
