package pkgdb

import (
	"strings"
)

// The os-release files, in the order os-release(5) says to read them: the
// first that exists wins.
var OSReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}

// OSRelease is what an image's os-release names.
type OSRelease struct {
	ID, VersionID, PrettyName string
}

// osReleaseLimits bound an os-release file (a few hundred bytes in real
// images).
var osReleaseLimits = Limits{MaxSize: 64 << 10, MaxRecords: 1024, MaxLine: 4096}

// ParseOSRelease reads the ID, VERSION_ID and PRETTY_NAME of an
// os-release file: KEY=value lines, the value bare or in single or double
// quotes (in double quotes, \ escapes $ " \ and `), # comments. A line
// that is not an assignment is malformed, as is a quote left open.
func ParseOSRelease(name string, data []byte) (OSRelease, error) {
	ls, err := textLines(name, data, osReleaseLimits)
	if err != nil {
		return OSRelease{}, err
	}
	var out OSRelease
	for i, l := range ls {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'") {
			return OSRelease{}, malformed(name, i+1, "not an assignment: %s", quote(l))
		}
		v, ok = unquoteShell(v)
		if !ok {
			return OSRelease{}, malformed(name, i+1, "bad quoting: %s", quote(l))
		}
		switch k {
		case "ID":
			out.ID = v
		case "VERSION_ID":
			out.VersionID = v
		case "PRETTY_NAME":
			out.PrettyName = v
		}
	}
	return out, nil
}

// unquoteShell undoes os-release's shell-style quoting of one value.
func unquoteShell(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	switch q := v[0]; q {
	case '\'':
		if len(v) < 2 || v[len(v)-1] != '\'' || strings.Contains(v[1:len(v)-1], "'") {
			return "", false
		}
		return v[1 : len(v)-1], true
	case '"':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			switch c := v[i]; c {
			case '\\':
				if i+1 < len(v) && strings.IndexByte("$\"\\`", v[i+1]) >= 0 {
					i++
					b.WriteByte(v[i])
				} else {
					b.WriteByte(c)
				}
			case '"':
				return b.String(), i == len(v)-1
			default:
				b.WriteByte(c)
			}
		}
		return "", false
	}
	if strings.ContainsAny(v, "\"'` \t$") {
		return "", false
	}
	return v, true
}
