package secconf

import "strings"

// PAMLine is one rule of a pam.d file (pam.conf(5)).
type PAMLine struct {
	Line int
	// Type is auth, account, password or session; "@include" for an
	// include line (Module then names the file).
	Type string
	// Optional is set for a "-type" line (skipped when its module is
	// missing).
	Optional bool
	Control  string // required, requisite, sufficient, optional, include, substack, [value=action ...]
	Module   string // pam_unix.so, /lib/security/pam_x.so
	Args     string
}

// ParsePAM parses the rules of a pam.d file.
func ParsePAM(lines []Line) []PAMLine {
	var out []PAMLine
	for _, l := range joinContinued(lines) {
		t := strings.TrimSpace(l.Text)
		if t == "" || t[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(t, "@include"); ok {
			out = append(out, PAMLine{Line: l.N, Type: "@include", Module: strings.TrimSpace(rest)})
			continue
		}
		typ, rest, ok := cutSpace(t)
		if !ok {
			continue
		}
		p := PAMLine{Line: l.N, Type: strings.ToLower(typ)}
		if strings.HasPrefix(p.Type, "-") {
			p.Optional, p.Type = true, p.Type[1:]
		}
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				continue
			}
			p.Control, rest = rest[:end+1], strings.TrimSpace(rest[end+1:])
		} else if p.Control, rest, ok = cutSpace(rest); !ok && p.Control == "" {
			continue
		}
		p.Module, p.Args, _ = cutSpace(rest)
		if p.Module == "" {
			continue
		}
		out = append(out, p)
	}
	return out
}
