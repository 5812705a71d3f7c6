package secconf

import "strings"

// CronEntry is one job of a crontab.
type CronEntry struct {
	Line     int
	Schedule string // "*/5 * * * *" or "@reboot"
	User     string // the user field of a system crontab; "" in a user's crontab
	Command  string
}

// ParseCron parses a crontab: with user set, a system crontab
// (/etc/crontab, /etc/cron.d) whose lines carry a user field. Variable
// assignments (PATH=...) are skipped.
func ParseCron(lines []Line, system bool) []CronEntry {
	var out []CronEntry
	for _, l := range lines {
		t := strings.TrimSpace(l.Text)
		if t == "" || t[0] == '#' {
			continue
		}
		f := strings.Fields(t)
		var sched []string
		switch {
		case strings.HasPrefix(f[0], "@"):
			sched = f[:1]
		case len(f) >= 6 && isCronField(f[0]):
			sched = f[:5]
		default:
			continue // an assignment or not a job
		}
		rest := f[len(sched):]
		e := CronEntry{Line: l.N, Schedule: strings.Join(sched, " ")}
		if system {
			if len(rest) < 2 {
				continue
			}
			e.User, rest = rest[0], rest[1:]
		}
		if len(rest) == 0 {
			continue
		}
		// The command as written, from its first word on.
		e.Command = strings.TrimSpace(t[indexField(t, len(f)-len(rest)):])
		out = append(out, e)
	}
	return out
}

func isCronField(s string) bool {
	return strings.Trim(s, "0123456789*/,-") == "" || strings.Trim(strings.ToLower(s), "abcdefghijklmnopqrstuvwxyz0123456789*/,-") == ""
}

// indexField returns the byte offset of field i (from 0) of s.
func indexField(s string, i int) int {
	n, in := -1, false
	for j := 0; j < len(s); j++ {
		sp := s[j] == ' ' || s[j] == '\t'
		if !sp && !in {
			n++
			if n == i {
				return j
			}
		}
		in = !sp
	}
	return len(s)
}
