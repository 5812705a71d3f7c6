package index

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// What bounds the work of ad hoc SQL and rules in modernc's SQLite:
//
//   - time: a statement run with a context is interrupted
//     (sqlite3_interrupt) when the context ends, even inside an endless
//     recursive CTE; callers give each query and each rule a deadline.
//   - memory: sqlite3_hard_heap_limit64 makes every SQLite allocation past
//     the limit fail with SQLITE_NOMEM, which fails the statement that
//     needed it and frees what it held. The limit is process-wide (all
//     connections together), and SQLite enforces it only when it counts
//     its memory (SQLITE_CONFIG_MEMSTATUS), which modernc's build turns off
//     by default (SQLITE_DEFAULT_MEMSTATUS=0): init turns it on, before any
//     connection initializes SQLite. Without it the limit is silently
//     ignored: a 3M-row sort of 200-byte blobs peaked at 1.9 GB with a
//     200 MB limit; with it, it failed at 230 MB.
//   - temporary space: the read-only connections keep temporary tables and
//     sorts in memory (temp_store=MEMORY, in dsn), so the memory limit
//     bounds them too, instead of temporary files growing on disk without
//     a bound. (The writer's sorts still spill to disk: see overlaySorted.)

// The limits a query or rule can reach; errors from LimitError wrap one.
var (
	ErrTimeLimit   = errors.New("stopped at its time limit")
	ErrMemoryLimit = errors.New("stopped at the SQLite memory limit")
)

// memoryLimit is the limit SetMemoryLimit set, for messages.
var memoryLimit atomic.Int64

// errMemStatus is why SQLite's memory could not be counted, if it could not.
var errMemStatus error

func init() {
	tls := libc.NewTLS()
	defer tls.Close()
	va := libc.Xmalloc(tls, types.Size_t(unsafe.Sizeof(uintptr(0))))
	if va == 0 {
		errMemStatus = errors.New("out of memory")
		return
	}
	defer libc.Xfree(tls, va)
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_MEMSTATUS, libc.VaList(va, 1)); rc != sqlite3.SQLITE_OK {
		errMemStatus = fmt.Errorf("sqlite3_config(SQLITE_CONFIG_MEMSTATUS): code %d (SQLite already initialized?)", rc)
	}
}

// SetMemoryLimit bounds the memory SQLite holds in this process, all its
// connections together, to n bytes (0: no bound). Past it, the statement
// that asks for more fails with an error IsOutOfMemory recognises, and
// releases what it held; other statements go on.
func SetMemoryLimit(n int64) error {
	if n < 0 {
		return fmt.Errorf("memory limit %d: want 0 (none) or more bytes", n)
	}
	if errMemStatus != nil && n > 0 {
		return fmt.Errorf("cannot bound SQLite's memory: %w", errMemStatus)
	}
	tls := libc.NewTLS()
	defer tls.Close()
	sqlite3.Xsqlite3_hard_heap_limit64(tls, n)
	memoryLimit.Store(n)
	return nil
}

// WithTimeLimit returns a context for one query or rule that ends after d
// (0: only when ctx does), with ErrTimeLimit as its cause.
func WithTimeLimit(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, fmt.Errorf("%w (%s)", ErrTimeLimit, d))
}

// LimitError returns err, from a statement run under ctx (from
// WithTimeLimit), as an error wrapping the limit it reached, if it reached
// one; otherwise err as it is.
func LimitError(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case IsOutOfMemory(err):
		return fmt.Errorf("%w (%d MiB): %v", ErrMemoryLimit, memoryLimit.Load()>>20, err)
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrTimeLimit):
		return context.Cause(ctx)
	}
	return err
}

// MemoryUsed is the memory SQLite holds in this process now, in bytes.
func MemoryUsed() int64 {
	tls := libc.NewTLS()
	defer tls.Close()
	return sqlite3.Xsqlite3_memory_used(tls)
}

// IsOutOfMemory reports whether err is SQLite's SQLITE_NOMEM: a statement
// that needed more than the memory limit.
func IsOutOfMemory(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_NOMEM
}
