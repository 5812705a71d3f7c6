// Package probe holds the read queries the benchmarks time: `auditor find`
// by exact path, glob and sha256 over the public image_files view, and
// typical rules. bench/lookup and the index package's lookup benchmark run
// the same SQL.
package probe

import (
	"context"
	"database/sql"
	"sort"
	"strings"
	"time"
)

// FindColumns are the columns `auditor find` prints.
const FindColumns = `image_digest, registry, repository, layer_position, layer_digest, path, type, size, mode, sha256, visible, hidden_by_position, hidden_how`

// Query is one timed query.
type Query struct {
	Key   string // upper-case name for KEY=VALUE output
	Label string
	SQL   string
	Args  []any
}

// Find returns the find query for a pattern the way `auditor find` reads
// it: "sha256:<hex>" or 64 hex digits is a content hash, a pattern with glob
// characters is a GLOB (where * also matches /), anything else an exact path.
func Find(pattern string) Query {
	switch {
	case strings.HasPrefix(pattern, "sha256:") || isHex64(pattern):
		h := strings.TrimPrefix(pattern, "sha256:")
		return Query{"FIND_SHA256", "find sha256 " + h[:min(12, len(h))] + "...", `SELECT ` + FindColumns + ` FROM image_files WHERE sha256 = ?`, []any{h}}
	case strings.ContainsAny(pattern, "*?["):
		key := "FIND_GLOB"
		if strings.HasPrefix(pattern, "*") {
			key = "FIND_ANYGLOB"
		}
		return Query{key, "find glob " + pattern, `SELECT ` + FindColumns + ` FROM image_files WHERE path GLOB ?`, []any{pattern}}
	}
	return Query{"FIND_PATH", "find exact path " + pattern, `SELECT ` + FindColumns + ` FROM image_files WHERE path = ?`, []any{pattern}}
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Rules are typical rule queries: each scans image_files for a property no
// index covers, the way most rules of a pack do.
var Rules = []Query{
	{"RULE_SETUID", "rule: setuid/setgid files", `SELECT image_digest, path, layer_digest, printf('mode %o', mode) AS detail
		FROM image_files WHERE type = 'file' AND (mode & 3072) != 0`, nil},
	{"RULE_TMPEXEC", "rule: executables in temporary dirs", `SELECT image_digest, path, layer_digest, kind AS detail
		FROM image_files WHERE type = 'file' AND kind IN ('elf', 'script') AND (mode & 73) != 0
		AND (path GLOB '/tmp/*' OR path GLOB '/var/tmp/*' OR path GLOB '/dev/shm/*' OR path GLOB '/run/*')`, nil},
}

// Run runs q once, reading every column of every row, and returns the
// number of rows.
func Run(ctx context.Context, db *sql.DB, q Query) (int64, error) {
	rows, err := db.QueryContext(ctx, q.SQL, q.Args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return n, rows.Close()
}

// Timing is what Time measured.
type Timing struct {
	Rows          int64
	First, Median time.Duration
}

// Time runs q n times and returns the row count, the first run's time and
// the median.
func Time(ctx context.Context, db *sql.DB, q Query, n int) (Timing, error) {
	return TimeFunc(n, func() (int64, error) { return Run(ctx, db, q) })
}

// TimeFunc runs fn (which returns the rows it read) n times and returns the
// row count, the first run's time and the median.
func TimeFunc(n int, fn func() (int64, error)) (Timing, error) {
	var times []time.Duration
	var t Timing
	for range max(n, 1) {
		start := time.Now()
		rows, err := fn()
		if err != nil {
			return t, err
		}
		times = append(times, time.Since(start))
		t.Rows = rows
	}
	t.First = times[0]
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	t.Median = times[len(times)/2]
	return t, nil
}
