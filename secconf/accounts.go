package secconf

import (
	"strconv"
	"strings"
)

// Account is one line of passwd, with what shadow says of its password when
// shadow was given to Accounts.
type Account struct {
	Line  int
	Name  string
	UID   int64 // -1 when the field is not a number
	GID   int64
	GECOS string
	Home  string
	Shell string
	// Password is the state of the password: "empty" (anyone may log in
	// without one), "locked" (! or * prefixed, or a value no hash can
	// match), "set" (a hash), "shadowed" (x: see shadow) or "none" (no
	// shadow entry for an x).
	Password string
	// Scheme is the hash scheme of a set password: md5, sha256, sha512,
	// yescrypt, bcrypt, gost-yescrypt, scrypt, sunmd5, des (crypt(3)
	// names), or "" when none is set. The hash itself is never kept.
	Scheme string
}

// ParsePasswd parses passwd(5) lines. A line that is not seven
// colon-separated fields is skipped, as getpwent(3) skips it.
func ParsePasswd(lines []Line) []Account {
	var out []Account
	for _, l := range lines {
		t := l.Text
		if t == "" || t[0] == '#' || t[0] == '+' || t[0] == '-' {
			continue // NIS compat lines name no account of this image
		}
		f := strings.Split(t, ":")
		if len(f) != 7 || f[0] == "" {
			continue
		}
		out = append(out, Account{
			Line: l.N, Name: f[0], UID: num(f[2]), GID: num(f[3]), GECOS: f[4], Home: f[5], Shell: f[6],
			Password: passwordState(f[1], true), Scheme: scheme(f[1]),
		})
	}
	return out
}

// ShadowEntry is one line of shadow or gshadow: the state and scheme of its
// password, never the hash.
type ShadowEntry struct {
	Line     int
	Name     string
	Password string // empty, locked or set
	Scheme   string
}

// ParseShadow parses shadow(5) or gshadow(5) lines.
func ParseShadow(lines []Line) []ShadowEntry {
	var out []ShadowEntry
	for _, l := range lines {
		t := l.Text
		if t == "" || t[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(t, ":")
		if !ok || name == "" {
			continue
		}
		pw, _, _ := strings.Cut(rest, ":")
		out = append(out, ShadowEntry{Line: l.N, Name: name, Password: passwordState(pw, false), Scheme: scheme(pw)})
	}
	return out
}

// Accounts joins passwd with shadow (nil when the image has none): an x
// password takes the shadow entry's state.
func Accounts(passwd []Account, shadow []ShadowEntry) []Account {
	by := map[string]ShadowEntry{}
	for _, s := range shadow {
		if _, dup := by[s.Name]; !dup { // the first entry is the one lookups find
			by[s.Name] = s
		}
	}
	out := make([]Account, len(passwd))
	for i, a := range passwd {
		if a.Password == "shadowed" {
			if s, ok := by[a.Name]; ok {
				a.Password, a.Scheme = s.Password, s.Scheme
			} else if shadow != nil {
				a.Password = "none"
			}
		}
		out[i] = a
	}
	return out
}

// Group is one line of group(5).
type Group struct {
	Line    int
	Name    string
	GID     int64
	Members []string
}

// ParseGroup parses group(5) lines.
func ParseGroup(lines []Line) []Group {
	var out []Group
	for _, l := range lines {
		t := l.Text
		if t == "" || t[0] == '#' || t[0] == '+' || t[0] == '-' {
			continue
		}
		f := strings.Split(t, ":")
		if len(f) != 4 || f[0] == "" {
			continue
		}
		g := Group{Line: l.N, Name: f[0], GID: num(f[2])}
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				g.Members = append(g.Members, m)
			}
		}
		out = append(out, g)
	}
	return out
}

func num(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// passwordState classifies a password field. In passwd, x means "see
// shadow".
func passwordState(pw string, inPasswd bool) string {
	switch {
	case pw == "":
		return "empty"
	case inPasswd && pw == "x":
		return "shadowed"
	case pw[0] == '!' || pw[0] == '*':
		return "locked"
	case scheme(pw) == "":
		// Neither a crypt(3) prefix nor a DES hash: no password can hash
		// to it (e.g. "x" in shadow, "NP", "LK").
		return "locked"
	}
	return "set"
}

// scheme names the crypt(3) scheme of a password hash, "" when it has none.
func scheme(pw string) string {
	if pw == "" || pw[0] == '!' || pw[0] == '*' {
		return ""
	}
	if pw[0] != '$' {
		if len(pw) == 13 && isDESChars(pw) {
			return "des"
		}
		return ""
	}
	id, _, ok := strings.Cut(pw[1:], "$")
	if !ok {
		return ""
	}
	switch id {
	case "1":
		return "md5"
	case "5":
		return "sha256"
	case "6":
		return "sha512"
	case "y":
		return "yescrypt"
	case "gy":
		return "gost-yescrypt"
	case "7":
		return "scrypt"
	case "2", "2a", "2b", "2x", "2y":
		return "bcrypt"
	case "md5":
		return "sunmd5"
	}
	return "unknown"
}

func isDESChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
