package pkgdb

import (
	"path"
	"sort"
	"strconv"
	"strings"
)

// The files of a dpkg database, as absolute paths in an image.
const (
	DpkgStatus     = "/var/lib/dpkg/status"
	DpkgStatusD    = "/var/lib/dpkg/status.d"   // distroless: one stanza per file, and <name>.md5sums
	DpkgInfo       = "/var/lib/dpkg/info"       // <pkg>[:<arch>].list, .md5sums, .conffiles
	DpkgDiversions = "/var/lib/dpkg/diversions" // from, to, package: three lines each
	DpkgConfig     = "/etc/dpkg/dpkg.cfg"
	DpkgConfigD    = "/etc/dpkg/dpkg.cfg.d"
)

// dpkgInstalled reports whether a dpkg Status ("want eflag state") means
// the package's files are on the system and recorded, as debsums decides:
// the state is installed or half-configured, whatever the want (a held
// package is "hold ok installed") and the error flag.
func dpkgInstalled(status string) bool {
	fs := strings.Fields(status)
	return len(fs) == 3 && (fs[2] == "installed" || fs[2] == "half-configured")
}

// ParseDpkgStatus parses a dpkg status file (or one distroless status.d
// stanza file): one Package per stanza with a Package field, its conffiles
// (with their md5) as Files flagged Conffile. name names the file in
// errors. A stanza without a Status field is installed (distroless writes
// none); otherwise the state decides, as for debsums: installed or
// half-configured ("install ok installed", "hold ok installed"), not
// config-files, unpacked or not-installed.
func ParseDpkgStatus(name string, data []byte, lim Limits) ([]Package, error) {
	stanzas, err := parseStanzas(name, data, lim)
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	records := 0
	for _, st := range stanzas {
		p, err := dpkgPackage(name, st)
		if err != nil {
			return nil, err
		}
		if p == nil {
			continue
		}
		records += 1 + len(p.Files)
		if records > lim.MaxRecords {
			return nil, tooMany(name, lim)
		}
		pkgs = append(pkgs, *p)
	}
	return pkgs, nil
}

// stanza is one paragraph of a deb822 file: fields in order, values with
// continuation lines joined by "\n" (their leading space removed).
type stanza struct {
	line   int // first line, for errors
	fields []field
}

type field struct {
	name, value string
	line        int
}

func (s stanza) get(name string) (field, bool) {
	for _, f := range s.fields {
		if strings.EqualFold(f.name, name) {
			return f, true
		}
	}
	return field{}, false
}

// parseStanzas splits deb822 text into stanzas. A line that is neither a
// "Name: value" field, a continuation (leading space or tab) nor blank is
// malformed, as is a continuation before any field.
func parseStanzas(name string, data []byte, lim Limits) ([]stanza, error) {
	if err := checkText(name, data, lim); err != nil {
		return nil, err
	}
	ls, err := lines(name, data, lim)
	if err != nil {
		return nil, err
	}
	var out []stanza
	var cur *stanza
	for i, l := range ls {
		n := i + 1
		l = strings.TrimSuffix(l, "\r")
		if strings.TrimSpace(l) == "" {
			cur = nil
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			if cur == nil || len(cur.fields) == 0 {
				return nil, malformed(name, n, "continuation line outside a field")
			}
			f := &cur.fields[len(cur.fields)-1]
			f.value += "\n" + l[1:]
			continue
		}
		if l[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, malformed(name, n, "not a field: %s", quote(l))
		}
		if cur == nil {
			out = append(out, stanza{line: n})
			cur = &out[len(out)-1]
		}
		cur.fields = append(cur.fields, field{name: k, value: strings.TrimSpace(v), line: n})
		if len(out)+len(cur.fields) > lim.MaxRecords {
			return nil, tooMany(name, lim)
		}
	}
	return out, nil
}

// dpkgPackage builds the package of one stanza, nil for a stanza without a
// Package field (dpkg ignores those too).
func dpkgPackage(name string, st stanza) (*Package, error) {
	pf, ok := st.get("Package")
	if !ok {
		return nil, nil
	}
	if pf.value == "" || strings.ContainsAny(pf.value, " \t\n/") {
		return nil, malformed(name, pf.line, "bad package name %s", quote(pf.value))
	}
	p := &Package{Manager: Dpkg, Name: pf.value, Installed: true}
	if f, ok := st.get("Version"); ok {
		p.Version = f.value
	}
	if f, ok := st.get("Architecture"); ok {
		p.Architecture = f.value
	}
	if f, ok := st.get("Status"); ok {
		p.Status = strings.Join(strings.Fields(f.value), " ")
		p.Installed = dpkgInstalled(p.Status)
	}
	p.SourceName, p.SourceVersion = p.Name, p.Version
	if f, ok := st.get("Source"); ok && f.value != "" {
		src, ver, hasVer := strings.Cut(f.value, " ")
		p.SourceName = src
		if hasVer {
			ver = strings.TrimSpace(ver)
			if !strings.HasPrefix(ver, "(") || !strings.HasSuffix(ver, ")") {
				return nil, malformed(name, f.line, "package %s: bad Source %s", p.Name, quote(f.value))
			}
			p.SourceVersion = strings.TrimSpace(ver[1 : len(ver)-1])
		}
	}
	if f, ok := st.get("Conffiles"); ok {
		for i, l := range strings.Split(f.value, "\n") {
			if strings.TrimSpace(l) == "" {
				continue
			}
			cf, err := dpkgConffile(l)
			if err != nil {
				return nil, malformed(name, f.line+i, "package %s: conffile %s: %s", p.Name, quote(l), err.Error())
			}
			p.Files = append(p.Files, cf)
		}
	}
	return p, nil
}

// dpkgConffile parses one Conffiles line: " /path md5 [obsolete]
// [remove-on-upgrade]". dpkg writes "newconffile" as the md5 of a conffile
// it has not installed yet: that record has no digest.
func dpkgConffile(l string) (File, error) {
	fs := strings.Fields(l)
	if len(fs) < 2 || !strings.HasPrefix(fs[0], "/") {
		return File{}, errorString("want \"/path md5\"")
	}
	f := File{Path: absPath(fs[0]), Flags: Conffile}
	switch {
	case isHex(fs[1], 32):
		f.Algorithm, f.Digest = MD5, strings.ToLower(fs[1])
	case fs[1] == "newconffile":
	default:
		return File{}, errorString("bad md5 " + quote(fs[1]))
	}
	for _, flag := range fs[2:] {
		if flag == "obsolete" {
			f.Flags |= Obsolete
		}
	}
	return f, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

func tooMany(name string, lim Limits) error {
	return &limitError{name: name, what: "records", limit: int64(lim.MaxRecords)}
}

type limitError struct {
	name  string
	what  string
	limit int64
}

func (e *limitError) Error() string {
	return e.name + ": more than " + strconv.FormatInt(e.limit, 10) + " " + e.what + ": " + ErrTooLarge.Error()
}
func (e *limitError) Unwrap() error { return ErrTooLarge }

// ParseDpkgList parses info/<pkg>.list: one absolute path a line ("/."
// for the root). The records have no digest: ReadDpkg joins them with the
// md5sums.
func ParseDpkgList(name string, data []byte, lim Limits) ([]string, error) {
	ls, err := textLines(name, data, lim)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ls))
	for i, l := range ls {
		if l == "" {
			continue
		}
		if !strings.HasPrefix(l, "/") {
			return nil, malformed(name, i+1, "not an absolute path: %s", quote(l))
		}
		out = append(out, absPath(l))
	}
	return out, nil
}

// ParseDpkgMD5sums parses info/<pkg>.md5sums (or a distroless
// status.d/<pkg>.md5sums): "md5  path" a line, the path relative to the
// root. It returns MD5 records with absolute paths.
func ParseDpkgMD5sums(name string, data []byte, lim Limits) ([]File, error) {
	ls, err := textLines(name, data, lim)
	if err != nil {
		return nil, err
	}
	out := make([]File, 0, len(ls))
	for i, l := range ls {
		if l == "" {
			continue
		}
		sum, p, ok := strings.Cut(l, " ")
		p = strings.TrimLeft(p, " *") // "sum  path", or md5sum's binary marker "sum *path"
		if !ok || !isHex(sum, 32) || p == "" {
			return nil, malformed(name, i+1, "want \"md5  path\", got %s", quote(l))
		}
		out = append(out, File{Path: absPath(p), Algorithm: MD5, Digest: strings.ToLower(sum)})
	}
	return out, nil
}

// ParseDpkgConffiles parses info/<pkg>.conffiles: one absolute path a line
// (dpkg >= 1.20 may prefix "remove-on-upgrade "). It returns the paths.
func ParseDpkgConffiles(name string, data []byte, lim Limits) ([]string, error) {
	return ParseDpkgList(name, stripConffileFlags(data), lim)
}

func stripConffileFlags(data []byte) []byte {
	s := string(data)
	if !strings.Contains(s, "remove-on-upgrade ") {
		return data
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		b.WriteString(strings.TrimPrefix(l, "remove-on-upgrade "))
	}
	return []byte(b.String())
}

// Diversion is one dpkg-divert record: files of packages other than By
// that dpkg would install at From go to To. By is "" for a local
// diversion (dpkg-divert --local), which applies to every package.
type Diversion struct {
	From, To, By string
}

// ParseDpkgDiversions parses /var/lib/dpkg/diversions: three lines per
// diversion (from, to, package; ":" for a local one).
func ParseDpkgDiversions(name string, data []byte, lim Limits) ([]Diversion, error) {
	ls, err := textLines(name, data, lim)
	if err != nil {
		return nil, err
	}
	if len(ls)%3 != 0 {
		return nil, malformed(name, len(ls), "%d lines, not a multiple of 3 (from, to, package)", len(ls))
	}
	var out []Diversion
	for i := 0; i < len(ls); i += 3 {
		from, to, by := ls[i], ls[i+1], ls[i+2]
		if !strings.HasPrefix(from, "/") || !strings.HasPrefix(to, "/") || by == "" {
			return nil, malformed(name, i+1, "bad diversion %s -> %s by %s", quote(from), quote(to), quote(by))
		}
		if by == ":" {
			by = ""
		}
		out = append(out, Diversion{From: absPath(from), To: absPath(to), By: by})
	}
	return out, nil
}

// DivertedTo reports where dpkg put pkg's file p: a diversion of p by
// another package (or a local one) moves it to the returned path.
func DivertedTo(divs []Diversion, p, pkg string) (string, bool) {
	for _, d := range divs {
		if d.From == p && d.By != pkg {
			return d.To, true
		}
	}
	return "", false
}

// Filter is one path-exclude or path-include directive of a dpkg
// configuration file.
type Filter struct {
	Include bool
	Glob    string
}

// DpkgFilters are the path filters dpkg applies when it unpacks, in the
// order it reads them.
type DpkgFilters []Filter

// ParseDpkgFilters reads the path-exclude and path-include directives of
// the dpkg configuration files, keyed by their absolute path. It orders
// them as dpkg reads them: the files of /etc/dpkg/dpkg.cfg.d in name order
// (only names of letters, digits, "_" and "-", as dpkg skips the others,
// like "x.dpkg-old"), then /etc/dpkg/dpkg.cfg. Other keys are ignored.
func ParseDpkgFilters(files map[string][]byte, lim Limits) (DpkgFilters, error) {
	var names []string
	for n := range files {
		if path.Dir(n) == DpkgConfigD && validConfigName(path.Base(n)) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if _, ok := files[DpkgConfig]; ok {
		names = append(names, DpkgConfig)
	}
	var out DpkgFilters
	for _, n := range names {
		data := files[n]
		ls, err := textLines(n, data, lim)
		if err != nil {
			return nil, err
		}
		for i, l := range ls {
			l = strings.TrimSpace(l)
			if l == "" || l[0] == '#' {
				continue
			}
			opt, val, _ := strings.Cut(l, "=")
			if sp := strings.IndexAny(opt, " \t"); sp >= 0 {
				opt, val = opt[:sp], l[sp+1:]
			}
			opt = strings.TrimPrefix(strings.TrimSpace(opt), "--")
			val = strings.TrimSpace(val)
			switch opt {
			case "path-exclude", "path-include":
				if !strings.HasPrefix(val, "/") {
					return nil, malformed(n, i+1, "%s wants an absolute glob, got %s", opt, quote(val))
				}
				out = append(out, Filter{Include: opt == "path-include", Glob: val})
				if len(out) > lim.MaxRecords {
					return nil, tooMany(n, lim)
				}
			}
		}
	}
	return out, nil
}

func validConfigName(n string) bool {
	if n == "" || n[0] == '.' {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Excluded reports whether dpkg skips p when it unpacks: the last filter
// whose glob matches p (fnmatch without FNM_PATHNAME: "*" crosses "/")
// decides. As dpkg does, an excluded directory or symlink is kept when a
// path-include glob names something beneath it (dir is true for those).
func (fs DpkgFilters) Excluded(p string, dir bool) bool {
	skip := false
	for _, f := range fs {
		if fnmatch(f.Glob, p, false) {
			skip = !f.Include
		}
	}
	if !skip || !dir {
		return skip
	}
	for _, f := range fs {
		if !f.Include {
			continue
		}
		// dpkg keeps the path when the include glob's part before its
		// first wildcard is at least as long as the path and starts with it.
		lit := len(f.Glob)
		if i := strings.IndexAny(f.Glob, "*?[\\"); i >= 0 {
			lit = i
		}
		if lit >= len(p) && strings.HasPrefix(f.Glob, p) {
			return false
		}
	}
	return true
}
