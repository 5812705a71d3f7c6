package safetext

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// The encoding of machine output (JSON, JSON lines, CSV, SARIF), which
// carries the views' values, not escapes:
//
//   - Text is UTF-8: a byte that is not part of valid UTF-8 (a tar name is
//     bytes) becomes U+FFFD, one per byte, as encoding/json writes it.
//   - In JSON, a value that had such bytes is followed by the same key with
//     Base64Suffix, holding the exact bytes in standard base64; only then.
//   - A CSV cell that a spreadsheet would run as a formula (it begins with
//     = + - @, a tab or a carriage return) gets a leading ', and so does one
//     that begins with ' itself: drop one leading ' from a text cell that
//     has it to get the value back. Numbers are never prefixed.

// Base64Suffix is added to a JSON key for the exact bytes of a value that
// is not valid UTF-8.
const Base64Suffix = "_base64"

// UTF8 returns s with each byte that is not part of valid UTF-8 replaced by
// U+FFFD, and whether s was valid already.
func UTF8(s string) (string, bool) {
	if utf8.ValidString(s) {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String(), false
}

// Base64 returns the exact bytes of s for the Base64Suffix key when s is
// not valid UTF-8, and "" when it is.
func Base64(s string) string {
	if utf8.ValidString(s) {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// CSV returns the text s as a CSV cell: valid UTF-8, with a leading ' when
// it would be a formula (see above).
func CSV(s string) string {
	s, _ = UTF8(s)
	if s != "" && strings.IndexByte("=+-@\t\r'", s[0]) >= 0 {
		return "'" + s
	}
	return s
}
