// Command lookup times, on an existing index, the queries analysts and rules
// run most: `find` by exact path, by glob and by sha256 (the SQL the find
// command runs over the public image_files view), and typical rules. It opens
// the index read-only (index.OpenReadOnly) and reports the database's bytes
// per file row.
//
// Usage: lookup [-migrate] [-path P] [-glob G] [-anyglob G] [-sha256 H] [-n N] DB
//
// Without -path, the path of a regular file found in the most layers is used;
// without -sha256, that file's hash. Each query runs N times; the first
// (cold) and the median time are reported. One line of KEY=VALUE figures goes
// to stdout for bench/run, a markdown table to stderr. With -stats, only the
// size and row counts are printed. With -naive DIR, it also builds in DIR the
// naive one-table layout the index is compared with (every column of the
// files view in one table, the layer by digest, with indexes on path and
// sha256) and prints its size. With -migrate, it first opens the index for
// writing, which applies the migrations this build has and the index does
// not (an index bench/bigindex wrote with an older build, reused).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/auditor-dev/auditor/bench/probe"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/queries"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	path := flag.String("path", "", "exact path to find (default: a regular file found in the most layers)")
	glob := flag.String("glob", "/usr/lib/*/libz.so*", "glob to find (SQLite GLOB: * also matches /)")
	anyGlob := flag.String("anyglob", "*/authorized_keys", "glob with a leading wildcard (no indexable prefix)")
	sha := flag.String("sha256", "", "content hash to find (default: the hash of -path's content)")
	n := flag.Int("n", 5, "runs of each query")
	statsOnly := flag.Bool("stats", false, "only print the index's size and row counts")
	naive := flag.String("naive", "", "also build the naive one-table layout in this directory and print its size")
	migrate := flag.Bool("migrate", false, "first apply the migrations the index lacks (it is opened for writing once)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: lookup [-path P] [-glob G] [-anyglob G] [-sha256 H] [-n N] DB")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *n < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if *naive != "" {
		if err := naiveSize(ctx, flag.Arg(0), *naive); err != nil {
			fmt.Fprintf(os.Stderr, "lookup: naive layout: %v\n", err)
			os.Exit(1)
		}
	}
	if *migrate {
		start := time.Now()
		db, err := index.Open(ctx, flag.Arg(0))
		if err == nil {
			err = db.Close()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "lookup: migrating %s: %v\n", flag.Arg(0), err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "lookup: %s opened for writing (migrations applied) in %s\n", flag.Arg(0), time.Since(start).Round(time.Millisecond))
	}
	if err := run(ctx, flag.Arg(0), *path, *glob, *anyGlob, *sha, *n, *statsOnly); err != nil {
		fmt.Fprintf(os.Stderr, "lookup: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dbPath, path, glob, anyGlob, sha string, n int, statsOnly bool) error {
	db, err := index.OpenReadOnly(ctx, dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	r := db.Reader()

	var rows, layers, unc, uncMax int64
	if err := r.QueryRowContext(ctx, `SELECT COALESCE(sum(entries), 0), count(*), COALESCE(sum(uncompressed_size), 0),
		COALESCE(max(uncompressed_size), 0) FROM layers`).Scan(&rows, &layers, &unc, &uncMax); err != nil {
		return err
	}
	var images, imageRows int64
	if err := r.QueryRowContext(ctx, `SELECT count(DISTINCT il.image_digest), COALESCE(sum(l.entries), 0)
		FROM image_layers il JOIN layers l ON l.digest = il.layer_digest`).Scan(&images, &imageRows); err != nil {
		return err
	}
	size := fileSize(dbPath) + fileSize(dbPath+"-wal")
	stats := fmt.Sprintf("DB_BYTES=%d DB_FILE_ROWS=%d DB_LAYERS=%d DB_UNCOMPRESSED_BYTES=%d DB_UNCOMPRESSED_MAX=%d DB_IMAGES=%d DB_IMAGE_FILE_ROWS=%d",
		size, rows, layers, unc, uncMax, images, imageRows)
	fmt.Fprintf(os.Stderr, "index %s: %d bytes, %d file rows in %d layers (%.1f B/row), %d images (%d image_files rows)\n",
		dbPath, size, rows, layers, float64(size)/float64(max(rows, 1)), images, imageRows)
	if statsOnly {
		fmt.Println(stats)
		return nil
	}
	if path == "" {
		// The regular file path found in the most layers (a base-image file).
		err := r.QueryRowContext(ctx, `SELECT path FROM files WHERE type = 'file' AND size > 0
			GROUP BY path ORDER BY count(*) DESC, path LIMIT 1`).Scan(&path)
		if err != nil {
			return fmt.Errorf("choosing a path: %w", err)
		}
	}
	if sha == "" {
		err := r.QueryRowContext(ctx, `SELECT sha256 FROM files WHERE path = ? AND sha256 IS NOT NULL
			GROUP BY sha256 ORDER BY count(*) DESC LIMIT 1`, path).Scan(&sha)
		if err != nil {
			return fmt.Errorf("choosing a hash of %s: %w", path, err)
		}
	}
	sha = strings.TrimPrefix(sha, "sha256:")

	fmt.Fprintf(os.Stderr, "| query (median of %d; first run) | rows | median, ms | first, ms |\n|---|---:|---:|---:|\n", n)
	kv := []string{stats}
	report := func(key, label string, t probe.Timing) {
		fmt.Fprintf(os.Stderr, "| %s | %d | %.3f | %.3f |\n", label, t.Rows, ms(t.Median), ms(t.First))
		kv = append(kv, fmt.Sprintf("%s_ROWS=%d %s_FIRST_MS=%.3f %s_MS=%.3f", key, t.Rows, key, ms(t.First), key, ms(t.Median)))
	}
	// What `auditor find` runs (queries.Find: globs go through the distinct
	// paths first), then the same lookups as plain SQL over the image_files
	// view (what an ad hoc query costs), then rules.
	for _, p := range []struct{ key, pattern string }{{"AUDITOR_FIND_PATH", path}, {"AUDITOR_FIND_GLOB", glob}, {"AUDITOR_FIND_ANYGLOB", anyGlob}, {"AUDITOR_FIND_SHA256", "sha256:" + sha}} {
		t, err := probe.TimeFunc(n, func() (int64, error) {
			rows, err := queries.Find(ctx, r, queries.FindOptions{Pattern: p.pattern})
			return int64(len(rows)), err
		})
		if err != nil {
			return fmt.Errorf("auditor find %s: %w", p.pattern, err)
		}
		label := p.pattern
		if len(label) > 24 {
			label = label[:19] + "..."
		}
		report(p.key, "`auditor find` "+label, t)
	}
	queries := append([]probe.Query{probe.Find(path), probe.Find(glob), probe.Find(anyGlob), probe.Find("sha256:" + sha)}, probe.Rules...)
	for _, q := range queries {
		t, err := probe.Time(ctx, r, q, n)
		if err != nil {
			return fmt.Errorf("%s: %w", q.Label, err)
		}
		label := q.Label
		if strings.HasPrefix(label, "find ") {
			label = "view: " + label
		}
		report(q.Key, label, t)
	}
	fmt.Println(strings.Join(kv, " "))
	return nil
}

// naiveSize copies the files view of the index at dbPath into one table of
// dir/naive.db, indexes its path and sha256 columns as a naive design would,
// and prints NAIVE_BYTES and NAIVE_ROWS.
func naiveSize(ctx context.Context, dbPath, dir string) error {
	out := filepath.Join(dir, "naive.db")
	os.Remove(out)
	defer os.Remove(out)
	db, err := sql.Open("sqlite", out)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	src := "file:" + url.PathEscape(dbPath) + "?mode=ro"
	var rows int64
	for _, q := range []string{
		`ATTACH ` + quote(src) + ` AS src`,
		`CREATE TABLE files AS SELECT * FROM src.files`,
		`CREATE INDEX files_path ON files (path)`,
		`CREATE INDEX files_sha256 ON files (sha256)`,
		`DETACH src`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM files`).Scan(&rows); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	size := fileSize(out)
	fmt.Fprintf(os.Stderr, "naive layout: %d bytes, %d file rows (%.1f B/row)\n", size, rows, float64(size)/float64(max(rows, 1)))
	fmt.Printf("NAIVE_BYTES=%d NAIVE_ROWS=%d\n", size, rows)
	return nil
}

// quote is s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
