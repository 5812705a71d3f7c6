package queries

import (
	"bytes"
	"strings"
	"testing"
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
	var b bytes.Buffer
	res := &Result{Columns: []Column{{Name: "path"}}, Rows: [][]any{{"/bad\xffname"}}}
	if err := Write(&b, JSONL, res, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	// The raw bytes stay recoverable instead of becoming U+FFFD.
	if !strings.Contains(b.String(), `\\xff`) {
		t.Errorf("invalid UTF-8 in JSON: %s", b.String())
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
