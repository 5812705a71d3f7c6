// Package safetext is the one rule for showing a string from an image or a
// registry to a person: whatever could act on a terminal or hide text is
// written in a visible, reversible notation instead.
//
// Escaped: C0 controls, DEL, C1 controls (as characters and as the lone
// bytes 0x80-0x9f, such as the 8-bit CSI 0x9b), every byte that is not
// part of valid UTF-8, and every character that is not a graphic one or the
// ASCII space: format characters (bidi overrides and isolates U+202A-U+202E
// and U+2066-U+2069, zero-width characters U+200B-U+200F, U+FEFF),
// separators other than the space (U+00A0, U+2028...), private-use and
// unassigned code points. A byte below 0x80 and a byte of invalid UTF-8 is
// \xHH, a character \uHHHH (\UHHHHHHHH above U+FFFF); newline, tab and
// carriage return are \n, \t and \r.
package safetext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s for one line of human output (a table cell, a report
// field, a log or error line): everything the package names is escaped,
// newlines and tabs included. A backslash that would read as the start of
// an escape (followed by x, u, U, n, t, r, a backslash or an escaped
// character) is doubled, so the original bytes can always be recovered.
func Escape(s string) string { return escape(s, false, false) }

// Lines is Escape for text of several lines: each line is escaped and the
// lines after the first are indented by two spaces, so a line break in a
// registry's message cannot forge a line of its own.
func Lines(s string) string {
	if !strings.Contains(s, "\n") {
		return Escape(s)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Escape(l)
		if i > 0 && l != "" {
			lines[i] = "  " + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// Text returns s for a terminal showing text as it is laid out (a file's
// content): newlines and tabs are kept, everything else the package names
// is escaped, and backslashes are left as they are (a file's own "\n" reads
// as written; the exact bytes are for a file or a pipe).
func Text(s string) string { return escape(s, true, false) }

// escape writes s escaped; keepLayout keeps newlines, tabs and backslashes
// as they are (Text), otherwise they are escaped (Escape); quote escapes
// the double quote too, as \x22, for a value between double quotes.
func escape(s string, keepLayout, quote bool) string {
	if clean(s, keepLayout) && !(quote && strings.Contains(s, `"`)) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\\' && !keepLayout {
			b.WriteByte('\\')
			if next, _ := utf8.DecodeRuneInString(s[i+1:]); i+1 < len(s) && (strings.ContainsRune(`xuUntr\`, next) || !Safe(next) || quote && next == '"') {
				b.WriteByte('\\')
			}
			i++
			continue
		}
		if quote && r == '"' {
			b.WriteString(`\x22`)
		} else {
			write(&b, s[i:i+n], r, keepLayout)
		}
		i += n
	}
	return b.String()
}

// Safe reports whether r needs no escape (a graphic character or the ASCII
// space). utf8.RuneError stands for a byte of invalid UTF-8 and is never
// safe, nor is the character U+FFFD itself, so a replacement character in a
// name is told apart from the bytes it may stand for.
func Safe(r rune) bool {
	return r == ' ' || r != utf8.RuneError && r >= 0x20 && unicode.IsPrint(r)
}

// clean reports whether s needs no escape at all.
func clean(s string, keepLayout bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return cleanRunes(s[i:], keepLayout)
		case c == '\\' && !keepLayout:
			return false
		case c == '\n' || c == '\t':
			if !keepLayout {
				return false
			}
		case c < 0x20 || c == 0x7f:
			return false
		}
	}
	return true
}

func cleanRunes(s string, keepLayout bool) bool {
	for _, r := range s {
		if !Safe(r) && !(keepLayout && (r == '\n' || r == '\t')) || r == '\\' && !keepLayout {
			return false
		}
	}
	return true
}

// write writes one character (raw: its bytes in the string) escaped if it
// must be.
func write(b *strings.Builder, raw string, r rune, keepLayout bool) {
	switch {
	case keepLayout && (r == '\n' || r == '\t'):
		b.WriteRune(r)
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\t':
		b.WriteString(`\t`)
	case r == '\r':
		b.WriteString(`\r`)
	case r == utf8.RuneError && len(raw) == 1:
		fmt.Fprintf(b, `\x%02x`, raw[0])
	case Safe(r):
		b.WriteString(raw)
	case r < 0x80:
		fmt.Fprintf(b, `\x%02x`, r)
	case r > 0xffff:
		fmt.Fprintf(b, `\U%08x`, r)
	default:
		fmt.Fprintf(b, `\u%04x`, r)
	}
}

// Cut is Escape bounded to n characters, the last three "..." when cut.
func Cut(s string, n int) string {
	s = Escape(s)
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n-3]) + "..."
	}
	return s
}
