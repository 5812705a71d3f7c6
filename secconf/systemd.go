package secconf

import "strings"

// UnitDirective is one Key=Value line of a systemd unit or drop-in.
type UnitDirective struct {
	Line    int
	Section string // "Service"
	Key     string // "ExecStart"
	Value   string
}

// ParseUnit parses a systemd unit file (systemd.syntax(7)): sections,
// Key=Value lines, backslash continuations.
func ParseUnit(lines []Line) []UnitDirective {
	var out []UnitDirective
	section := ""
	for _, l := range joinContinued(lines) {
		t := strings.TrimSpace(l.Text)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if t[0] == '[' && t[len(t)-1] == ']' {
			section = t[1 : len(t)-1]
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		out = append(out, UnitDirective{Line: l.N, Section: section, Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
	}
	return out
}
