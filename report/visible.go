package report

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"unicode/utf8"
)

// hiddenRune reports whether r changes how text around it reads without
// showing itself: bidi overrides, embeddings, isolates and marks, zero-width
// characters, line and paragraph separators, and the byte-order mark.
func hiddenRune(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi
		return true
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff, r == 0x2028, r == 0x2029: // zero width, separators
		return true
	}
	return false
}

// escapeOf is how Visible shows a character that must not act: control
// characters (ANSI escapes included) as \xNN, bidi and invisible ones as
// <U+NNNN>, bytes that are not UTF-8 as \xNN. ok is false for characters
// shown as they are (tab and newline are shown as they are: history steps
// span lines).
func escapeOf(r rune, size int, s string) (esc string, ok bool) {
	switch {
	case r == utf8.RuneError && size == 1:
		return fmt.Sprintf(`\x%02x`, s[0]), true
	case r == '\t' || r == '\n':
		return "", false
	case r < 0x20 || r == 0x7f:
		return fmt.Sprintf(`\x%02x`, r), true
	case r >= 0x80 && r <= 0x9f:
		return fmt.Sprintf(`\u%04x`, r), true
	case hiddenRune(r):
		return fmt.Sprintf("<U+%04X>", r), true
	}
	return "", false
}

// Plain is s with every control, bidi and invisible character and every
// invalid byte replaced by its visible escape, for attributes and formats
// that are not HTML.
func Plain(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if esc, ok := escapeOf(r, size, s[i:]); ok {
			b.WriteString(esc)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Visible is s as HTML text: escaped, with every control, bidi and
// invisible character and every invalid byte shown as a marked escape
// (<span class="esc">\x1b</span>), so that a name can neither hide part of
// itself nor reorder what follows.
func Visible(s string) template.HTML {
	var b strings.Builder
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if esc, ok := escapeOf(r, size, s[i:]); ok {
			b.WriteString(html.EscapeString(s[start:i]))
			b.WriteString(`<span class="esc">`)
			b.WriteString(html.EscapeString(esc))
			b.WriteString(`</span>`)
			start = i + size
		}
		i += size
	}
	b.WriteString(html.EscapeString(s[start:]))
	return template.HTML(b.String()) //nolint:gosec // every byte of s is escaped above
}

// truncate cuts s to n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + fmt.Sprintf("… (%d more characters)", len(r)-n)
}
