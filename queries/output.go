package queries

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"

	"github.com/auditor-dev/auditor/internal/safetext"
)

// Format is an output format.
type Format string

// The output formats. Table is for people; the others carry raw values
// (the same values and column names as the public views) for scripts.
const (
	Table Format = "table" // aligned columns with a header
	JSON  Format = "json"  // one array of objects
	JSONL Format = "jsonl" // one object per line, streamed
	CSV   Format = "csv"   // RFC 4180 with a header; NULL is an empty field
)

// ParseFormat parses a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case Table, JSON, JSONL, CSV:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: want table, json, jsonl or csv", s)
}

// TableOptions control the human table.
type TableOptions struct {
	// Width is the terminal's width; a table wider than it is printed as
	// one block of "column: value" lines per row instead. 0 means no limit
	// (output to a file or pipe).
	Width int
	// NoTrunc shows digests and long columns in full.
	NoTrunc bool
}

// Column describes one output column.
type Column struct {
	Name string // JSON key and CSV header
	// Head is the table header; "" means Name in upper case.
	Head string
	// Show renders a value for the table; nil means Cell.
	Show func(v any, o TableOptions) string
	// Max truncates table cells to this many columns unless NoTrunc (0: never).
	Max int
	// Right aligns the column right in the table (numbers).
	Right bool
	// TableOnly columns are shown in the table only (a rendering of other
	// columns); NoTable columns are left out of it.
	TableOnly, NoTable bool
}

func (c Column) head() string {
	if c.Head != "" {
		return c.Head
	}
	return strings.ToUpper(c.Name)
}

// Result is a query's output: columns and rows of raw values (nil, int64,
// float64, string, bool, []byte or []string).
type Result struct {
	Columns []Column
	Rows    [][]any
}

// Write prints res to w in format f.
func Write(w io.Writer, f Format, res *Result, o TableOptions) error {
	rw, err := NewWriter(w, f, res.Columns, o)
	if err != nil {
		return err
	}
	for _, r := range res.Rows {
		if err := rw.Row(r); err != nil {
			return err
		}
	}
	return rw.Close()
}

// Writer writes rows one at a time. JSON lines and CSV are streamed; the
// table keeps its first rows to size the columns.
type Writer struct {
	w    io.Writer
	f    Format
	cols []Column // the columns printed
	keep []int    // their indexes in the rows given
	o    TableOptions
	n    int

	csv     *csv.Writer
	pending [][]string // table rows not yet printed
	widths  []int      // table column widths, fixed once printing starts
	started bool
	heads   bool // the table header was printed
	vert    bool // rows are printed as blocks (too wide for the terminal)
}

// tableSample is how many rows size the table's columns; later rows wider
// than that just push their line out.
const tableSample = 1000

// NewWriter returns a writer of rows with the given columns to w.
func NewWriter(w io.Writer, f Format, cols []Column, o TableOptions) (*Writer, error) {
	rw := &Writer{w: w, f: f, o: o}
	for i, c := range cols {
		if f == Table && c.NoTable || f != Table && c.TableOnly {
			continue
		}
		rw.cols = append(rw.cols, c)
		rw.keep = append(rw.keep, i)
	}
	cols = rw.cols
	switch f {
	case Table, JSONL:
	case JSON:
		if _, err := io.WriteString(w, "["); err != nil {
			return nil, err
		}
	case CSV:
		rw.csv = csv.NewWriter(w)
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.Name
		}
		if err := rw.csv.Write(names); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown format %q", f)
	}
	return rw, nil
}

// Row writes one row; vals are in column order.
func (rw *Writer) Row(row []any) error {
	if len(rw.keep) > 0 && rw.keep[len(rw.keep)-1] >= len(row) {
		return fmt.Errorf("row has %d values for %d columns", len(row), len(rw.cols))
	}
	vals := make([]any, len(rw.keep))
	for i, k := range rw.keep {
		vals[i] = row[k]
	}
	rw.n++
	switch rw.f {
	case JSON, JSONL:
		b, err := rw.object(vals)
		if err != nil {
			return err
		}
		switch {
		case rw.f == JSONL:
			b = append(b, '\n')
		case rw.n == 1:
			b = append([]byte("\n"), b...)
		default:
			b = append([]byte(",\n"), b...)
		}
		_, err = rw.w.Write(b)
		return err
	case CSV:
		rec := make([]string, len(vals))
		for i, v := range vals {
			rec[i] = rawString(v)
			switch v.(type) {
			case string, []string:
				rec[i] = safetext.CSV(rec[i]) // UTF-8, never a formula
			}
		}
		return rw.csv.Write(rec)
	}
	cells := make([]string, len(vals))
	for i, v := range vals {
		cells[i] = rw.cell(i, v)
	}
	if rw.started {
		return rw.printRow(cells)
	}
	rw.pending = append(rw.pending, cells)
	if len(rw.pending) >= tableSample {
		return rw.flush()
	}
	return nil
}

// Close finishes the output.
func (rw *Writer) Close() error {
	switch rw.f {
	case JSON:
		end := "]\n"
		if rw.n > 0 {
			end = "\n]\n"
		}
		_, err := io.WriteString(rw.w, end)
		return err
	case CSV:
		rw.csv.Flush()
		return rw.csv.Error()
	case Table:
		return rw.flush()
	}
	return nil
}

// object renders one JSON object with keys in column order.
func (rw *Writer) object(vals []any) ([]byte, error) {
	b := []byte{'{'}
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		// Tar names are bytes: a value that is not UTF-8 is written with
		// U+FFFD for its bad bytes, and its exact bytes under NAME_base64.
		var raw any
		switch x := v.(type) {
		case string:
			if b64 := safetext.Base64(x); b64 != "" {
				raw = b64
			}
		case []string:
			b64 := make([]string, len(x))
			for j, e := range x {
				b64[j] = base64.StdEncoding.EncodeToString([]byte(e))
				if !utf8.ValidString(e) {
					raw = b64
				}
			}
		}
		var err error
		if b, err = appendMember(b, rw.cols[i].Name, v); err != nil {
			return nil, err
		}
		if raw != nil {
			b = append(b, ',')
			if b, err = appendMember(b, rw.cols[i].Name+safetext.Base64Suffix, raw); err != nil {
				return nil, err
			}
		}
	}
	return append(b, '}'), nil
}

// appendMember appends "key":value, in JSON (encoding/json writes U+FFFD
// for each byte of a string that is not UTF-8).
func appendMember(b []byte, key string, v any) ([]byte, error) {
	k, _ := json.Marshal(key)
	b = append(b, k...)
	b = append(b, ':')
	jv, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("column %s: %w", key, err)
	}
	return append(b, jv...), nil
}

func (rw *Writer) cell(i int, v any) string {
	c := rw.cols[i]
	var s string
	if c.Show != nil {
		s = c.Show(v, rw.o)
	} else {
		s = Cell(v)
	}
	s = safetext.Escape(s) // nothing from an image acts on the terminal
	if c.Max > 0 && !rw.o.NoTrunc && runewidth.StringWidth(s) > c.Max {
		s = runewidth.Truncate(s, c.Max, "…")
	}
	return s
}

func (rw *Writer) flush() error {
	if !rw.started {
		rw.started = true
		rw.widths = make([]int, len(rw.cols))
		for i, c := range rw.cols {
			rw.widths[i] = runewidth.StringWidth(c.head())
		}
		for _, r := range rw.pending {
			for i, s := range r {
				rw.widths[i] = max(rw.widths[i], runewidth.StringWidth(s))
			}
		}
		total := 0
		for _, w := range rw.widths {
			total += w + 2
		}
		rw.vert = rw.o.Width > 0 && total-2 > rw.o.Width
	}
	for _, r := range rw.pending {
		if err := rw.printRow(r); err != nil {
			return err
		}
	}
	rw.pending = nil
	if !rw.heads && !rw.vert && rw.n == 0 {
		// An empty result still shows its header, so it is not mistaken
		// for a failure.
		return rw.header()
	}
	return nil
}

func (rw *Writer) header() error {
	rw.heads = true
	cells := make([]string, len(rw.cols))
	for i, c := range rw.cols {
		cells[i] = c.head()
	}
	return rw.line(cells)
}

func (rw *Writer) printRow(cells []string) error {
	if rw.vert {
		return rw.block(cells)
	}
	if !rw.heads {
		if err := rw.header(); err != nil {
			return err
		}
	}
	return rw.line(cells)
}

func (rw *Writer) line(cells []string) error {
	var b strings.Builder
	for i, s := range cells {
		last := i == len(cells)-1
		pad := rw.widths[i] - runewidth.StringWidth(s)
		if i > 0 {
			b.WriteString("  ")
		}
		if rw.cols[i].Right {
			b.WriteString(strings.Repeat(" ", max(pad, 0)))
			b.WriteString(s)
			continue
		}
		b.WriteString(s)
		if !last {
			b.WriteString(strings.Repeat(" ", max(pad, 0)))
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(rw.w, b.String())
	return err
}

// block prints a row as "column  value" lines, for rows wider than the
// terminal.
func (rw *Writer) block(cells []string) error {
	var b strings.Builder
	if rw.heads {
		b.WriteByte('\n')
	}
	rw.heads = true
	kw := 0
	for _, c := range rw.cols {
		kw = max(kw, len(c.Name))
	}
	for i, s := range cells {
		fmt.Fprintf(&b, "%-*s  %s\n", kw, rw.cols[i].Name, s)
	}
	_, err := io.WriteString(rw.w, b.String())
	return err
}

// Cell is the default table rendering of a raw value: NULL for nil,
// comma-separated lists, x'..' for bytes.
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return "x'" + hex.EncodeToString(x) + "'"
	}
	return rawString(v)
}

// rawString renders a value for CSV: empty for NULL, hex for bytes.
func rawString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []string:
		return strings.Join(x, ",")
	case []byte:
		return hex.EncodeToString(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}
