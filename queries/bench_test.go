package queries

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/queries/querytest"
)

// benchDB returns the read pool of a synthetic index: $AUDITOR_BENCH_DB
// (built there with $AUDITOR_BENCH_ENTRIES entries, default 10 million,
// when the file does not exist yet), else a small one in a temporary
// directory.
func benchDB(b *testing.B) *sql.DB {
	b.Helper()
	ctx := context.Background()
	path, entries := os.Getenv("AUDITOR_BENCH_DB"), 10_000_000
	if n, err := strconv.Atoi(os.Getenv("AUDITOR_BENCH_ENTRIES")); err == nil {
		entries = n
	}
	if path == "" {
		path, entries = filepath.Join(b.TempDir(), "bench.db"), 200_000
	}
	if _, err := os.Stat(path); err != nil {
		if err := querytest.Synthetic(ctx, path, entries, 25_000); err != nil {
			b.Fatal(err)
		}
	}
	db, err := index.OpenReadOnly(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db.Reader()
}

// BenchmarkFind times find's lookups against a full pass over the files
// view (the baseline: what a lookup without its index would cost).
//
//	AUDITOR_BENCH_DB=/tmp/big.db go test -run - -bench Find -benchtime 20x ./queries
func BenchmarkFind(b *testing.B) {
	ctx := context.Background()
	db := benchDB(b)
	var entries int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM files`).Scan(&entries); err != nil {
		b.Fatal(err)
	}
	b.Logf("index: %d file rows", entries)
	for _, c := range []struct{ name, pattern string }{
		{"path-one-image", querytest.SyntheticRarePath},
		{"path-every-image", querytest.SyntheticBashPath},
		{"sha256-every-image", "sha256:" + querytest.SyntheticHash(0, querytest.SyntheticBashPath)},
		{"sha256-prefix", "sha256:" + querytest.SyntheticHash(0, querytest.SyntheticBashPath)[:10]},
		{"glob-name", "only-here"},
	} {
		b.Run(c.name, func(b *testing.B) {
			rows := 0
			for b.Loop() {
				r, err := Find(ctx, db, FindOptions{Pattern: c.pattern})
				if err != nil {
					b.Fatal(err)
				}
				rows = len(r)
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
	b.Run("baseline-full-pass", func(b *testing.B) {
		for b.Loop() {
			var n int64
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM files WHERE size < 0`).Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
	})
}
