package queries

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func testResult() *Result {
	return &Result{
		Columns: []Column{
			{Name: "path", Head: "PATH"},
			{Name: "size", Head: "SIZE", Right: true},
			{Name: "digest", Head: "DIGEST", Show: ShortDigest},
			{Name: "note", Head: "NOTE", Max: 8},
			{Name: "hidden", NoTable: true},
			{Name: "shown", Head: "SHOWN", TableOnly: true},
		},
		Rows: [][]any{
			{"/文件", int64(7), "sha256:0123456789abcdef", "a long note", nil, "x"},
			{"/x\x1b", int64(12345), nil, nil, true, "y"},
		},
	}
}

func TestWriteFormats(t *testing.T) {
	for _, c := range []struct {
		f    Format
		o    TableOptions
		want string
	}{
		{Table, TableOptions{}, "" +
			"PATH     SIZE  DIGEST        NOTE      SHOWN\n" +
			"/文件       7  0123456789ab  a long …  x\n" +
			"/x\\x1b  12345  -             NULL      y\n"},
		{Table, TableOptions{NoTrunc: true}, "" +
			"PATH     SIZE  DIGEST                   NOTE         SHOWN\n" +
			"/文件       7  sha256:0123456789abcdef  a long note  x\n" +
			"/x\\x1b  12345  -                        NULL         y\n"},
		{Table, TableOptions{Width: 20}, "" +
			"path    /文件\nsize    7\ndigest  0123456789ab\nnote    a long …\nshown   x\n\n" +
			"path    /x\\x1b\nsize    12345\ndigest  -\nnote    NULL\nshown   y\n"},
		{JSON, TableOptions{}, "[\n" +
			`{"path":"/文件","size":7,"digest":"sha256:0123456789abcdef","note":"a long note","hidden":null},` + "\n" +
			`{"path":"/x\u001b","size":12345,"digest":null,"note":null,"hidden":true}` + "\n]\n"},
		{JSONL, TableOptions{}, "" +
			`{"path":"/文件","size":7,"digest":"sha256:0123456789abcdef","note":"a long note","hidden":null}` + "\n" +
			`{"path":"/x\u001b","size":12345,"digest":null,"note":null,"hidden":true}` + "\n"},
		{CSV, TableOptions{}, "path,size,digest,note,hidden\n/文件,7,sha256:0123456789abcdef,a long note,\n/x\x1b,12345,,,true\n"},
	} {
		var b bytes.Buffer
		if err := Write(&b, c.f, testResult(), c.o); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("%s %+v:\n%s\nwant:\n%s", c.f, c.o, b.String(), c.want)
		}
	}
}

func TestWriteEmpty(t *testing.T) {
	for f, want := range map[Format]string{Table: "PATH  SIZE  DIGEST  NOTE  SHOWN\n", JSON: "[]\n", JSONL: "", CSV: "path,size,digest,note,hidden\n"} {
		var b bytes.Buffer
		res := testResult()
		res.Rows = nil
		if err := Write(&b, f, res, TableOptions{}); err != nil || b.String() != want {
			t.Errorf("%s empty: %q %v, want %q", f, b.String(), err, want)
		}
	}
}

func TestJSONInvalidUTF8(t *testing.T) {
	res := &Result{Columns: []Column{{Name: "path"}, {Name: "tags"}}, Rows: [][]any{
		{"/bad\xffname", []string{"ok", "v\xfe"}},
		{"/fine\x1b", []string{"ok"}},
	}}
	for _, f := range []Format{JSON, JSONL} {
		var b bytes.Buffer
		if err := Write(&b, f, res, TableOptions{}); err != nil {
			t.Fatal(err)
		}
		var rows []map[string]any
		if f == JSON {
			if err := json.Unmarshal(b.Bytes(), &rows); err != nil {
				t.Fatalf("%s: %v\n%s", f, err, b.String())
			}
		} else {
			for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
				var r map[string]any
				if err := json.Unmarshal([]byte(l), &r); err != nil {
					t.Fatalf("%s: %v\n%s", f, err, l)
				}
				rows = append(rows, r)
			}
		}
		// Valid UTF-8, U+FFFD for the bad bytes, the exact bytes recoverable
		// under NAME_base64, and that key only where a value needs it.
		if !utf8.Valid(b.Bytes()) || rows[0]["path"] != "/bad\ufffdname" {
			t.Errorf("%s: %s", f, b.String())
		}
		raw, err := base64.StdEncoding.DecodeString(fmt.Sprint(rows[0]["path_base64"]))
		if err != nil || string(raw) != "/bad\xffname" {
			t.Errorf("%s: path_base64 %v gives %q, %v", f, rows[0]["path_base64"], raw, err)
		}
		tags, _ := rows[0]["tags_base64"].([]any)
		if len(tags) != 2 || tags[1] != base64.StdEncoding.EncodeToString([]byte("v\xfe")) {
			t.Errorf("%s: tags_base64 %v", f, rows[0]["tags_base64"])
		}
		if _, ok := rows[1]["path_base64"]; ok || rows[1]["path"] != "/fine\x1b" || rows[1]["tags_base64"] != nil {
			t.Errorf("%s: a valid row: %v", f, rows[1])
		}
	}
}

// TestCSVDefused: CSV is UTF-8, and no text cell is a formula to a
// spreadsheet; numbers stay numbers.
func TestCSVDefused(t *testing.T) {
	res := &Result{Columns: []Column{{Name: "v"}}}
	for _, v := range []any{"=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "'q", "/ok", "a=b", "bad\xff", int64(-5), -1.5} {
		res.Rows = append(res.Rows, []any{v})
	}
	var b bytes.Buffer
	if err := Write(&b, CSV, res, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs[1:] {
		got = append(got, r[0])
	}
	want := []string{"'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "''q", "/ok", "a=b", "bad\ufffd", "-5", "-1.5"}
	if !slices.Equal(got, want) {
		t.Errorf("CSV cells:\n%q\nwant\n%q", got, want)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"table", "JSON", "jsonl", "csv"} {
		if _, err := ParseFormat(s); err != nil {
			t.Errorf("ParseFormat(%q): %v", s, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("yaml accepted")
	}
}

func TestModeString(t *testing.T) {
	for _, c := range []struct {
		typ  string
		mode int64
		want string
	}{
		{"file", 0o4755, "-rwsr-xr-x"},
		{"file", 0o2644, "-rw-r-Sr--"},
		{"dir", 0o1777, "drwxrwxrwt"},
		{"symlink", 0o777, "lrwxrwxrwx"},
		{"char", 0o644, "crw-r--r--"},
		{"fifo", 0o600, "prw-------"},
	} {
		if got := ModeString(c.typ, c.mode); got != c.want {
			t.Errorf("ModeString(%s, %o) = %s, want %s", c.typ, c.mode, got, c.want)
		}
	}
}
