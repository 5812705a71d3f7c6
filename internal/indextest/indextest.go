// Package indextest compares auditor index databases the way users see
// them: the content of the public views, ignoring timestamps and scan ids,
// so that a scan made through faults, kills or retries can be checked
// against a clean one.
package indextest

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the driver the index uses
)

// views are the public views with the columns that describe content (not
// when it was seen nor by which scan).
var views = map[string]string{
	"tags":   "registry, repository, tag, digest",
	"images": "digest, registry, repository, index_digest, media_type, os, architecture, variant, config_digest, created, user, workdir, entrypoint, cmd, env, labels, exposed_ports, volumes, stop_signal, manifest_size",
	// layers.media_type is left out: a blob shared by a Docker and an OCI
	// manifest keeps the media type it was first read under, which depends
	// on timing; image_layers.media_type is each image's own.
	"layers":       "digest, diff_id, compression, size, uncompressed_size, entries",
	"image_layers": "image_digest, position, layer_digest, media_type",
	"history":      "image_digest, position, created, created_by, comment, author, empty_layer, layer_position",
	"files":        "layer_digest, path, raw_name, type, mode, uid, gid, uname, gname, size, mtime, sha256, linkname, kind, capabilities, seq",
	"image_files":  "image_digest, registry, repository, layer_position, layer_digest, path, type, mode, uid, gid, size, sha256, linkname, kind, visible, hidden_by_position, hidden_how, uname, gname, mtime, raw_name, capabilities, seq",
}

// Dump returns every public view's rows (content columns only), each row
// rendered as one line, sorted.
func Dump(ctx context.Context, path string) (map[string][]string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out := map[string][]string{}
	for view, cols := range views {
		rows, err := db.QueryContext(ctx, "SELECT "+cols+" FROM "+view)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", view, err)
		}
		n := len(strings.Split(cols, ","))
		vals := make([]any, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var lines []string
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("%s: %w", view, err)
			}
			var b strings.Builder
			for i, v := range vals {
				if i > 0 {
					b.WriteByte('|')
				}
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%q", fmt.Sprint(v))
			}
			lines = append(lines, b.String())
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", view, err)
		}
		slices.Sort(lines)
		out[view] = lines
	}
	return out, nil
}

// Diff describes how two dumps differ ("" when equal): per view, the row
// counts and the first rows found in only one of them.
func Diff(got, want map[string][]string) string {
	var b strings.Builder
	names := make([]string, 0, len(views))
	for v := range views {
		names = append(names, v)
	}
	slices.Sort(names)
	for _, v := range names {
		g, w := got[v], want[v]
		if slices.Equal(g, w) {
			continue
		}
		fmt.Fprintf(&b, "view %s: %d rows, want %d\n", v, len(g), len(w))
		only := func(a, c []string, label string) {
			shown := 0
			for _, r := range a {
				if _, found := slices.BinarySearch(c, r); !found {
					if shown == 3 {
						fmt.Fprintf(&b, "  ... more %s\n", label)
						return
					}
					fmt.Fprintf(&b, "  %s: %s\n", label, r)
					shown++
				}
			}
		}
		only(g, w, "extra")
		only(w, g, "missing")
	}
	return b.String()
}

// Equal fails tb if the public views of the index at got differ in content
// from those of the index at want.
func Equal(tb testing.TB, got, want string) {
	tb.Helper()
	g, err := Dump(context.Background(), got)
	if err != nil {
		tb.Fatalf("dump %s: %v", got, err)
	}
	w, err := Dump(context.Background(), want)
	if err != nil {
		tb.Fatalf("dump %s: %v", want, err)
	}
	if d := Diff(g, w); d != "" {
		tb.Errorf("index %s differs from %s:\n%s", got, want, d)
	}
}

// IntegrityOK fails tb unless PRAGMA integrity_check of the database at
// path says ok.
func IntegrityOK(tb testing.TB, path string) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		tb.Fatalf("integrity_check %s: %v", path, err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0] != "ok" {
		tb.Errorf("integrity_check %s: %s", path, strings.Join(msgs, "; "))
	}
}

// Strings runs a query whose rows are one text column (or one value that
// scans as text) and returns them; any error fails tb.
func Strings(tb testing.TB, db *sql.DB, q string, args ...any) []string {
	tb.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return out
}
