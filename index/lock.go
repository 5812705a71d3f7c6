package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrScanRunning is returned by LockScan when another process holds the
// scan lock of the same database.
var ErrScanRunning = errors.New("another scan is writing to this database")

// ScanLock is the lock that makes one process at a time scan into a
// database. It is an advisory lock on a file beside the database (PATH.lock),
// which the operating system releases when the holder exits, however it
// exits, so a killed scan never leaves a stale lock.
type ScanLock struct {
	f *os.File
}

// LockScan takes the scan lock of the database at path. When another
// process holds it, LockScan returns an error wrapping ErrScanRunning that
// names that process, or, if wait is true, waits until it is free or ctx
// ends.
func LockScan(ctx context.Context, path string, wait bool) (*ScanLock, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("scan lock %s: %w", name, err)
	}
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("scan lock %s: %w", name, err)
		}
		if ok {
			break
		}
		if !wait {
			holder := describeHolder(f)
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
	// Say who holds it, for the message a second scan prints.
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "pid %d, started %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	}
	return &ScanLock{f: f}, nil
}

func describeHolder(f *os.File) string {
	b := make([]byte, 200)
	n, _ := f.ReadAt(b, 0)
	s := strings.TrimSpace(string(b[:n]))
	if s == "" {
		return "held by another process"
	}
	if pid, _, ok := strings.Cut(strings.TrimPrefix(s, "pid "), ","); ok {
		if _, err := strconv.Atoi(pid); err == nil {
			return "auditor " + s
		}
	}
	return "held: " + s
}

// Unlock releases the lock.
func (l *ScanLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	unlock(l.f)
	err := l.f.Close()
	l.f = nil
	return err
}
