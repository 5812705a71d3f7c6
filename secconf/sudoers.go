package secconf

import "strings"

// SudoGrant is one user specification of sudoers(5): who may run what, as
// whom, and whether without a password. A line granting several command
// lists gives one grant each.
type SudoGrant struct {
	Line     int
	Who      string // user list: "alice", "%wheel", "ALL"
	Hosts    string
	RunAs    string // "(root)", "(ALL : ALL)"; "" when not given (root)
	NoPasswd bool   // NOPASSWD: applies to Commands
	Commands string // "ALL", "/usr/bin/apt-get"
}

// SudoInclude is an @include/#include or @includedir/#includedir line.
type SudoInclude struct {
	Line int
	Dir  bool
	Path string
}

// ParseSudoers parses the user specifications and includes of a sudoers
// file. Aliases and Defaults are not expanded (a Cmnd_Alias grant names the
// alias); a line continued with a trailing backslash is joined first.
func ParseSudoers(lines []Line) ([]SudoGrant, []SudoInclude) {
	var grants []SudoGrant
	var incs []SudoInclude
	for _, l := range joinContinued(lines) {
		t := strings.TrimSpace(l.Text)
		for _, p := range []struct {
			prefix string
			dir    bool
		}{{"@includedir", true}, {"#includedir", true}, {"@include", false}, {"#include", false}} {
			if rest, ok := strings.CutPrefix(t, p.prefix); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
				incs = append(incs, SudoInclude{Line: l.N, Dir: p.dir, Path: strings.TrimSpace(rest)})
				t = ""
				break
			}
		}
		t = stripComment(t)
		if t == "" || strings.HasPrefix(t, "Defaults") || isAlias(t) {
			continue
		}
		who, rest, ok := cutSpace(t)
		if !ok {
			continue
		}
		// host = [(runas)] [TAGS:] cmnd[, ...] [: host = ...]
		grants = append(grants, parseSpec(l.N, who, rest)...)
	}
	return grants, incs
}

// parseSpec parses "host = (runas) TAG: cmd, cmd : host2 = ..." for who.
func parseSpec(n int, who, spec string) []SudoGrant {
	var out []SudoGrant
	// Host specs are separated by " : " between a command and the next
	// "host =", while tags end in ":" too; walk tokens instead.
	eq := strings.IndexByte(spec, '=')
	for eq >= 0 {
		hosts := strings.TrimSpace(spec[:eq])
		rest := spec[eq+1:]
		// The commands run up to the next "host =" after a ':' that is
		// not a tag's.
		next := -1
		for i := 0; i < len(rest); i++ {
			if rest[i] == ':' && !isTagBefore(rest[:i]) {
				if j := strings.IndexByte(rest[i+1:], '='); j >= 0 && !strings.ContainsAny(rest[i+1:i+1+j], ",()") {
					next = i
					break
				}
			}
		}
		cmds := rest
		if next >= 0 {
			cmds, spec = rest[:next], rest[next+1:]
			eq = strings.IndexByte(spec, '=')
		} else {
			eq = -1
		}
		runas, nopasswd := "", false
		for _, c := range splitCommands(cmds) {
			c = strings.TrimSpace(c)
			if strings.HasPrefix(c, "(") {
				if end := strings.IndexByte(c, ')'); end >= 0 {
					runas, c = c[:end+1], strings.TrimSpace(c[end+1:])
				}
			}
			for {
				tag, after, ok := strings.Cut(c, ":")
				if !ok || !isTag(strings.TrimSpace(tag)) {
					break
				}
				switch strings.TrimSpace(tag) {
				case "NOPASSWD":
					nopasswd = true
				case "PASSWD":
					nopasswd = false
				}
				c = strings.TrimSpace(after)
			}
			if c != "" {
				out = append(out, SudoGrant{Line: n, Who: who, Hosts: hosts, RunAs: runas, NoPasswd: nopasswd, Commands: c})
			}
		}
	}
	return out
}

// splitCommands splits a command list at commas outside parentheses.
func splitCommands(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 && (i == 0 || s[i-1] != '\\') {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

var sudoTags = map[string]bool{
	"NOPASSWD": true, "PASSWD": true, "NOEXEC": true, "EXEC": true, "SETENV": true, "NOSETENV": true,
	"LOG_INPUT": true, "NOLOG_INPUT": true, "LOG_OUTPUT": true, "NOLOG_OUTPUT": true, "MAIL": true,
	"NOMAIL": true, "FOLLOW": true, "NOFOLLOW": true, "INTERCEPT": true, "NOINTERCEPT": true,
}

func isTag(s string) bool { return sudoTags[s] }

// isTagBefore reports whether the text before a ':' ends in a tag name.
func isTagBefore(s string) bool {
	i := len(s)
	for i > 0 && s[i-1] >= 'A' && s[i-1] <= 'Z' || i > 0 && s[i-1] == '_' {
		i--
	}
	return isTag(s[i:])
}

func isAlias(t string) bool {
	for _, a := range []string{"User_Alias", "Runas_Alias", "Host_Alias", "Cmnd_Alias", "Cmd_Alias"} {
		if strings.HasPrefix(t, a) {
			return true
		}
	}
	return false
}

// cutSpace splits s at its first run of white space.
func cutSpace(s string) (before, after string, ok bool) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", false
	}
	return s[:i], strings.TrimSpace(s[i:]), true
}

// joinContinued joins lines ending in a backslash with the next, keeping
// the first line's number.
func joinContinued(lines []Line) []Line {
	var out []Line
	var cur *Line
	for _, l := range lines {
		if cur != nil {
			cur.Text = strings.TrimSuffix(cur.Text, "\\") + " " + l.Text
		} else {
			out = append(out, l)
			cur = &out[len(out)-1]
		}
		if !strings.HasSuffix(cur.Text, "\\") {
			cur = nil
		}
	}
	return out
}

// SudoAlias is one alias definition of sudoers(5): "Cmnd_Alias MAINT =
// /usr/bin/tar, /usr/bin/less" gives Type Cmnd_Alias, Name MAINT and the
// members as written, comma-separated ("/usr/bin/tar, /usr/bin/less"). A
// grant naming the alias grants its members; rules join the two.
type SudoAlias struct {
	Line    int
	Type    string // User_Alias, Runas_Alias, Host_Alias, Cmnd_Alias (Cmd_Alias as Cmnd_Alias)
	Name    string
	Members string
}

// ParseSudoAliases parses the alias definitions of a sudoers file, several
// on one line ("Cmnd_Alias A = x : B = y") included.
func ParseSudoAliases(lines []Line) []SudoAlias {
	var out []SudoAlias
	for _, l := range joinContinued(lines) {
		t := stripComment(strings.TrimSpace(l.Text))
		if !isAlias(t) {
			continue
		}
		typ, rest, ok := cutSpace(t)
		if !ok {
			continue
		}
		if typ == "Cmd_Alias" {
			typ = "Cmnd_Alias"
		}
		for _, def := range splitAliasDefs(rest) {
			name, members, ok := strings.Cut(def, "=")
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				continue
			}
			out = append(out, SudoAlias{Line: l.N, Type: typ, Name: name, Members: strings.TrimSpace(members)})
		}
	}
	return out
}

// splitAliasDefs splits "A = x, y : B = z" at each ':' that a NAME = follows.
func splitAliasDefs(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		name, _, ok := strings.Cut(s[i+1:], "=")
		name = strings.TrimSpace(name)
		if ok && name != "" && strings.Trim(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == "" {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
