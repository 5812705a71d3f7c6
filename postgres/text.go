package postgres

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// How names are stored. Tar names, link targets, owners, history and the
// other strings of an image are bytes; a UTF8 database rejects text that is
// not valid UTF-8, and every PostgreSQL database rejects NUL. So every text
// value is stored through Text: a value that is valid UTF-8 without NUL, and
// without characters of the range U+F700-U+F7FF (private use), is stored as
// it is (and equals what the SQLite index holds); in any other value, each
// NUL byte, each byte that is not part of valid UTF-8, and each byte of a
// character in that range becomes the character U+F700 + the byte's value.
// The mapping is one to one, so a name is found byte-exact by
// `path = Text(name)` (the unique index on paths holds), and Bytes (or the
// SQL function auditor_bytes) gives the exact bytes back.

const escapeBase = 0xF700

// Text returns s as the index stores it (see above).
func Text(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == 0 || (r == utf8.RuneError && n == 1) || (r >= escapeBase && r <= escapeBase+0xff) {
			for _, c := range []byte(s[i : i+n]) {
				b.WriteRune(escapeBase + rune(c))
			}
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Bytes is the inverse of Text: the exact bytes of a stored value.
func Bytes(t string) string {
	if !strings.ContainsFunc(t, escaped) {
		return t
	}
	var b strings.Builder
	b.Grow(len(t))
	for _, r := range t {
		if escaped(r) {
			b.WriteByte(byte(r - escapeBase))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func escaped(r rune) bool { return r >= escapeBase && r <= escapeBase+0xff }

// clean reports whether s is stored as it is.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 || c >= 0x80 {
			return !strings.ContainsRune(s, 0) && utf8.ValidString(s) && !strings.ContainsFunc(s, escaped)
		}
	}
	return true
}

// Redact returns dsn without its password, for messages.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable DSN)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
