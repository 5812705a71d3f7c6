// Package viewdump dumps the public views of an index, SQLite or
// PostgreSQL, in one canonical form, so that tests compare two back ends
// row for row: each row is its values in the view's column order, each
// value tagged with its kind (an integer, a boolean as the integer 0 or 1,
// text as its exact bytes, a blob, NULL); the rows of a view are sorted.
package viewdump

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Public lists the public views of the SQLite index db (every view, and
// the tables layers and scan_errors, which the README lists as public),
// each with its columns. The scans table is left out: its times are when
// each scan ran.
func Public(tb testing.TB, db *sql.DB) map[string][]string {
	tb.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name`)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	out := map[string][]string{
		// The columns of layers the README names (the others are private).
		"layers":      {"digest", "diff_id", "media_type", "compression", "size", "uncompressed_size", "entries"},
		"scan_errors": {"registry", "repository", "reference", "layer_digest", "message"},
	}
	for _, n := range names {
		r, err := db.Query(`SELECT * FROM "` + n + `" LIMIT 0`)
		if err != nil {
			tb.Fatalf("view %s: %v", n, err)
		}
		cols, err := r.Columns()
		r.Close()
		if err != nil {
			tb.Fatal(err)
		}
		out[n] = cols
	}
	return out
}

// Dump returns the rows of view (its columns cols) in canonical form,
// sorted. decode maps a text value to its exact bytes (the PostgreSQL
// back end's postgres.Bytes; nil for SQLite).
func Dump(ctx context.Context, db *sql.DB, view string, cols []string, decode func(string) string) ([]string, error) {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = `"` + c + `"`
	}
	rows, err := db.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM "`+view+`"`)
	if err != nil {
		return nil, fmt.Errorf("view %s: %w", view, err)
	}
	defer rows.Close()
	var out []string
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("view %s: %w", view, err)
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(value(v, decode))
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("view %s: %w", view, err)
	}
	slices.Sort(out)
	return out, nil
}

func value(v any, decode func(string) string) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return "i" + strconv.FormatInt(v, 10)
	case int32:
		return "i" + strconv.FormatInt(int64(v), 10)
	case int16:
		return "i" + strconv.FormatInt(int64(v), 10)
	case bool:
		if v {
			return "i1"
		}
		return "i0"
	case float64:
		return "f" + strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		if decode != nil {
			v = decode(v)
		}
		return strconv.Quote(v)
	case []byte:
		return "x" + hex.EncodeToString(v)
	default:
		return fmt.Sprintf("%T(%v)", v, v)
	}
}

// Compare dumps every view of views from both databases and reports each
// view whose rows differ (at most a few rows of each), or is missing.
func Compare(tb testing.TB, views map[string][]string, want *sql.DB, wantDecode func(string) string, got *sql.DB, gotDecode func(string) string) {
	tb.Helper()
	ctx := context.Background()
	names := make([]string, 0, len(views))
	for n := range views {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := Dump(ctx, want, n, views[n], wantDecode)
		if err != nil {
			tb.Fatal(err)
		}
		g, err := Dump(ctx, got, n, views[n], gotDecode)
		if err != nil {
			tb.Errorf("%v", err)
			continue
		}
		if !slices.Equal(w, g) {
			tb.Errorf("view %s differs (%d rows, want %d):\n%s", n, len(g), len(w), diff(w, g))
		}
	}
}

// diff shows the first rows only one side has.
func diff(want, got []string) string {
	var b strings.Builder
	n := 0
	only := func(sign string, a, other []string) {
		for _, r := range a {
			if _, found := slices.BinarySearch(other, r); !found && n < 12 {
				fmt.Fprintf(&b, "%s %s\n", sign, r)
				n++
			}
		}
	}
	only("-", want, got)
	only("+", got, want)
	return b.String()
}
