package secconf

import (
	"net/netip"
	"strings"
)

// HostEntry is one name of a hosts(5) line and the address it resolves to.
type HostEntry struct {
	Line    int
	Address string
	Name    string // lower case
}

// ParseHosts parses hosts(5): one entry per name. Lines whose first field
// is not an IP address are skipped, as the resolver skips them.
func ParseHosts(lines []Line) []HostEntry {
	var out []HostEntry
	for _, l := range lines {
		f := strings.Fields(stripComment(l.Text))
		if len(f) < 2 {
			continue
		}
		if _, err := netip.ParseAddr(f[0]); err != nil {
			continue
		}
		for _, n := range f[1:] {
			out = append(out, HostEntry{Line: l.N, Address: f[0], Name: strings.ToLower(n)})
		}
	}
	return out
}
