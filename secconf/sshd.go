package secconf

import "strings"

// SSHOption is one keyword line of sshd_config(5) or ssh_config(5).
type SSHOption struct {
	Line    int
	Keyword string // lower case: "permitrootlogin"
	Value   string // as written, without surrounding quotes
	// Match is the Match (sshd) or Host (ssh) condition the line is under,
	// "" at the top level.
	Match string
}

// ParseSSHConfig parses the keyword lines of an sshd or ssh configuration
// in file order. Include lines are options too (keyword "include"): their
// order against the other lines matters, since sshd takes the first value
// it reads for most keywords and reads an Include's files where it stands.
func ParseSSHConfig(lines []Line) []SSHOption {
	var out []SSHOption
	match := ""
	for _, l := range lines {
		t := strings.TrimSpace(l.Text)
		if t == "" || t[0] == '#' {
			continue
		}
		k, v := splitKeyword(t)
		if k == "" {
			continue
		}
		k = strings.ToLower(k)
		if k == "match" || k == "host" {
			match = v
			if strings.EqualFold(v, "all") || v == "*" && k == "host" {
				match = ""
			}
			continue
		}
		out = append(out, SSHOption{Line: l.N, Keyword: k, Value: v, Match: match})
	}
	return out
}

// splitKeyword splits "Keyword value" or "Keyword=value".
func splitKeyword(t string) (k, v string) {
	i := strings.IndexAny(t, " \t=")
	if i < 0 {
		return t, ""
	}
	k, v = t[:i], strings.TrimSpace(t[i:])
	v = strings.TrimSpace(strings.TrimPrefix(v, "="))
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return k, v
}

// EffectiveSSHD returns the options sshd applies at the top level (outside
// Match blocks), first value wins, from the files in the order sshd reads
// them: main first, each Include expanded where it stands by include (which
// returns the options of the files a pattern names, in lexical order, and
// is given patterns relative to /etc/ssh resolved). Include depth is
// bounded by 16, as sshd bounds it.
func EffectiveSSHD(main []SSHOption, include func(pattern string) [][]SSHOption) map[string]SSHOption {
	eff := map[string]SSHOption{}
	var walk func(opts []SSHOption, depth int)
	walk = func(opts []SSHOption, depth int) {
		for _, o := range opts {
			if o.Match != "" {
				continue
			}
			if o.Keyword == "include" {
				if depth < 16 && include != nil {
					for _, pat := range strings.Fields(o.Value) {
						if !strings.HasPrefix(pat, "/") {
							pat = "/etc/ssh/" + pat
						}
						for _, f := range include(pat) {
							walk(f, depth+1)
						}
					}
				}
				continue
			}
			if _, seen := eff[o.Keyword]; !seen {
				eff[o.Keyword] = o
			}
		}
	}
	walk(main, 0)
	return eff
}
