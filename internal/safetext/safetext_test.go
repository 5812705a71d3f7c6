package safetext

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"/etc/passwd":                "/etc/passwd",
		"ünïcødé-文件.txt":             "ünïcødé-文件.txt",
		"evil\x1b[2J\x1b]0;x\a":      `evil\x1b[2J\x1b]0;x\x07`,
		"two\nlines\tand\rcr":        `two\nlines\tand\rcr`,
		"bad\xffutf8":                `bad\xffutf8`,
		"bidi\u202eoverride":         `bidi\u202eoverride`,
		"del\x7f":                    `del\x7f`,
		"no-break\u00a0space":        `no-break\u00a0space`,
		"v1\x1b[2J\x1b[31mPWN":       `v1\x1b[2J\x1b[31mPWN`,
		"csi8\x9b31m":                `csi8\x9b31m`, // the 8-bit CSI as a lone byte
		"c1\u009b31m":                `c1\u009b31m`, // and as a character
		"iso\u2066x\u2069":           `iso\u2066x\u2069`,
		"zw\u200b\u200d\u200f\ufeff": `zw\u200b\u200d\u200f\ufeff`,
		"repl\ufffd":                 `repl\ufffd`, // told apart from an invalid byte
		"pua\U000f0000":              `pua\U000f0000`,
		"cut\xe6\x96":                `cut\xe6\x96`,
		`C:\temp\new`:                `C:\\temp\\new`,
		`a\x1b`:                      `a\\x1b`, // a literal backslash-x is not an escaped byte
		`a\b\\c\`:                    `a\b\\\c\`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// unescape inverts Escape, to show that it loses nothing.
func unescape(t *testing.T, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '\\':
			b.WriteByte('\\')
			i++
		case 'n', 't', 'r':
			b.WriteByte(map[byte]byte{'n': '\n', 't': '\t', 'r': '\r'}[s[i+1]])
			i++
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[i+1]]
			v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32)
			if err != nil {
				t.Fatalf("bad escape in %q: %v", s, err)
			}
			if s[i+1] == 'x' {
				b.WriteByte(byte(v))
			} else {
				b.WriteRune(rune(v))
			}
			i += 1 + n
		default:
			b.WriteByte('\\')
		}
	}
	return b.String()
}

// TestEscapeReversibleAndSafe escapes random strings of hostile pieces: the
// result has nothing unsafe and unescapes to the input.
func TestEscapeReversibleAndSafe(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	pieces := []string{"a", "文", "\\", "\\x", "\\u", "\\n", "x1b", "\x1b", "\x9b", "\xc2\x9b", "\u202e", "\ufeff", "\n", "\t", "\r", "\x00", "\xff", "\xe6", "\ufffd", " "}
	for range 2000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		in := b.String()
		out := Escape(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q: not UTF-8", in, out)
		}
		for _, r := range out {
			if !Safe(r) {
				t.Fatalf("Escape(%q) = %q: holds %U", in, out, r)
			}
		}
		if got := unescape(t, out); got != in {
			t.Fatalf("Escape(%q) = %q, which unescapes to %q", in, out, got)
		}
	}
}

func TestLines(t *testing.T) {
	in := "layer x: 403 Forbidden\nscan 7: ok\x1b[31m\n"
	want := "layer x: 403 Forbidden\n  scan 7: ok\\x1b[31m\n"
	if got := Lines(in); got != want {
		t.Errorf("Lines(%q) = %q, want %q", in, got, want)
	}
}

// TestWriterCutCharacters writes hostile text in every split: the output
// is that of Text over the whole, whatever the cuts.
func TestWriterCutCharacters(t *testing.T) {
	in := "ok 文件\ttab\nesc\x1b[2J \xc2\x9b \x9b bidi\u202e \\n kept\xe6\x96"
	want := "ok 文件\ttab\nesc\\x1b[2J \\u009b \\x9b bidi\\u202e \\n kept\\xe6\\x96"
	if got := Text(in); got != want {
		t.Fatalf("Text = %q, want %q", got, want)
	}
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j++ {
			var b bytes.Buffer
			w := NewWriter(&b)
			for _, part := range []string{in[:i], in[i:j], in[j:]} {
				if n, err := w.Write([]byte(part)); err != nil || n != len(part) {
					t.Fatalf("Write: %d, %v", n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if b.String() != want {
				t.Fatalf("cut at %d and %d: %q, want %q", i, j, b.String(), want)
			}
		}
	}
}
