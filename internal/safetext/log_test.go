package safetext

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogHandler logs hostile values: the line is the text format with
// every key, message and value as Escape shows it (slog's own text handler
// quotes them as Go strings: "v1\x1b..." in quotes doubles a name's
// backslashes and shows U+FFFD raw), quoted where a value would not stay
// one key=value, and unescaping a value gives its bytes back.
func TestLogHandler(t *testing.T) {
	var b bytes.Buffer
	h := NewLogHandler(&b, slog.LevelInfo)
	l := slog.New(h).With("registry", "reg:5000").WithGroup("g")
	l.Debug("dropped")
	vals := []string{"v1\x1b[2J\x1b[31mPWN", "says \"ALL CLEAN\"\nlevel=INFO msg=forged", `C:\temp\x1b`, "bad\xff\ufffd\u202e", "", "a=b", `back\"slash`}
	args := []any{"n", 7, "d", 1500 * time.Millisecond, "err", errors.New("403 \x9b2J")}
	for i, v := range vals {
		args = append(args, "v"+string(rune('a'+i)), v)
	}
	l.Error("scan error\x1b[0m", args...)
	out := b.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("want one line, got %q", out)
	}
	for _, r := range strings.TrimSuffix(out, "\n") {
		if !Safe(r) {
			t.Fatalf("raw %U in %q", r, out)
		}
	}
	fields := strings.TrimSuffix(out, "\n")
	if !strings.HasPrefix(fields, "time=") {
		t.Errorf("no time: %q", fields)
	}
	want := ` level=ERROR msg="scan error\x1b[0m" registry=reg:5000 g.n=7 g.d=1.5s g.err="403 \x9b2J"` +
		` g.va=v1\x1b[2J\x1b[31mPWN g.vb="says \x22ALL CLEAN\x22\nlevel=INFO msg=forged" g.vc=C:\\temp\\x1b` +
		` g.vd=bad\xff\ufffd\u202e g.ve="" g.vf="a=b" g.vg="back\\\x22slash"`
	if _, rest, _ := strings.Cut(fields, " "); " "+rest != want {
		t.Errorf("line\n%q, want\n%q", " "+rest, want)
	}
	for i, v := range vals {
		key := " g.v" + string(rune('a'+i)) + "="
		_, rest, _ := strings.Cut(fields, key)
		var shown string
		if strings.HasPrefix(rest, `"`) {
			shown, _, _ = strings.Cut(rest[1:], `"`)
		} else {
			shown, _, _ = strings.Cut(rest, " ")
		}
		if got := unescape(t, shown); got != v {
			t.Errorf("%s%s unescapes to %q, want %q", key, shown, got, v)
		}
	}
}
