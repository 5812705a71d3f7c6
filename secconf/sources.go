package secconf

import (
	"net/url"
	"strings"
)

// Source is one package source (or index) a package manager of the image
// fetches from, with what weakens its trust.
type Source struct {
	Line    int
	Manager string // apt, apk, yum, pip, npm, gem
	URI     string
	Scheme  string // http, https, ftp, file, cdrom, ...; lower case
	// Trusted is set where the source's signatures are not checked:
	// apt's [trusted=yes] or allow-insecure, yum's gpgcheck=0,
	// pip's trusted-host, npm's strict-ssl=false, apk's --allow-untrusted
	// is not a file setting and is never set here.
	Trusted bool
	// Enabled is false for a yum repository with enabled=0.
	Enabled bool
	Detail  string // the options as written ("[trusted=yes arch=amd64]", "gpgcheck=0")
}

// ParseAptList parses one-line sources.list entries:
// deb [opts] uri suite [components].
func ParseAptList(lines []Line) []Source {
	var out []Source
	for _, l := range lines {
		t := stripComment(l.Text)
		typ, rest, ok := cutSpace(t)
		if !ok || typ != "deb" && typ != "deb-src" {
			continue
		}
		opts := ""
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				continue
			}
			opts, rest = rest[:end+1], strings.TrimSpace(rest[end+1:])
		}
		uri, _, _ := cutSpace(rest)
		if uri == "" {
			continue
		}
		out = append(out, Source{Line: l.N, Manager: "apt", URI: uri, Scheme: uriScheme(uri), Trusted: aptTrusted(opts), Enabled: true, Detail: opts})
	}
	return out
}

// ParseAptSources parses deb822 .sources stanzas: one Source per URI.
func ParseAptSources(lines []Line) []Source {
	var out []Source
	var uris []string
	var uriLine int
	var opts []string
	enabled := true
	flush := func() {
		o := strings.Join(opts, " ")
		for _, u := range uris {
			out = append(out, Source{Line: uriLine, Manager: "apt", URI: u, Scheme: uriScheme(u), Trusted: aptTrusted(o), Enabled: enabled, Detail: o})
		}
		uris, opts, enabled = nil, nil, true
	}
	for _, l := range lines {
		t := strings.TrimRight(l.Text, " \t")
		if strings.TrimSpace(t) == "" {
			flush()
			continue
		}
		if t[0] == '#' || t[0] == ' ' || t[0] == '\t' {
			continue // comments, and continuations (Signed-By key blocks)
		}
		k, v, ok := strings.Cut(t, ":")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "uris":
			uris, uriLine = strings.Fields(v), l.N
		case "enabled":
			enabled = !strings.EqualFold(v, "no")
		case "trusted", "allow-insecure", "allow-weak", "allow-downgrade-to-insecure":
			opts = append(opts, k+"="+v)
		}
	}
	flush()
	return out
}

// aptTrusted reports whether apt options turn off signature checks.
func aptTrusted(opts string) bool {
	o := strings.ToLower(strings.NewReplacer("[", " ", "]", " ").Replace(opts))
	for _, f := range strings.Fields(o) {
		switch f {
		case "trusted=yes", "allow-insecure=yes", "allow-weak=yes", "allow-downgrade-to-insecure=yes":
			return true
		}
	}
	return false
}

// ParseApkRepositories parses /etc/apk/repositories: one URL (or path) a
// line, @tag prefixes allowed.
func ParseApkRepositories(lines []Line) []Source {
	var out []Source
	for _, l := range lines {
		t := stripComment(l.Text)
		if t == "" {
			continue
		}
		f := strings.Fields(t)
		u := f[len(f)-1]
		out = append(out, Source{Line: l.N, Manager: "apk", URI: u, Scheme: uriScheme(u), Enabled: true})
	}
	return out
}

// ParseYumRepo parses a .repo (or yum.conf/dnf.conf) ini file: one Source
// per baseurl, mirrorlist and metalink, with gpgcheck and enabled of its
// section ([main] gives defaults in yum.conf: gpgcheck defaults to on).
func ParseYumRepo(lines []Line) []Source {
	type repo struct {
		line     int
		urls     []string
		gpgcheck string
		enabled  string
		sslver   string
	}
	var repos []*repo
	var cur *repo
	var mainGPG, mainSSL string
	mainLine := 0
	inMain := false
	for _, l := range lines {
		t := stripComment(l.Text)
		if t == "" || t[0] == ';' {
			continue
		}
		if t[0] == '[' && t[len(t)-1] == ']' {
			inMain = strings.EqualFold(t, "[main]")
			cur = nil
			if !inMain {
				cur = &repo{line: l.N}
				repos = append(repos, cur)
			}
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			if cur != nil && len(cur.urls) > 0 && !strings.ContainsAny(t, " \t") {
				cur.urls = append(cur.urls, t) // baseurl continuation lines
			}
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if inMain {
			switch k {
			case "gpgcheck":
				mainGPG, mainLine = v, l.N
			case "sslverify":
				mainSSL, mainLine = v, l.N
			}
			continue
		}
		if cur == nil {
			continue
		}
		switch k {
		case "baseurl", "mirrorlist", "metalink":
			cur.urls = append(cur.urls, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
		case "gpgcheck":
			cur.gpgcheck = v
		case "enabled":
			cur.enabled = v
		case "sslverify":
			cur.sslver = v
		}
	}
	off := func(v string) bool {
		v = strings.ToLower(v)
		return v == "0" || v == "no" || v == "false" || v == "off"
	}
	var out []Source
	// [main] of yum.conf or dnf.conf sets the default of every repository
	// of the system, those of yum.repos.d included: checks turned off
	// there are a source of their own.
	if off(mainGPG) || off(mainSSL) {
		var detail []string
		if off(mainGPG) {
			detail = append(detail, "gpgcheck="+mainGPG)
		}
		if off(mainSSL) {
			detail = append(detail, "sslverify="+mainSSL)
		}
		out = append(out, Source{Line: mainLine, Manager: "yum", URI: "[main]", Trusted: true, Enabled: true,
			Detail: strings.Join(detail, " ") + " in [main]: every repository without its own setting"})
	}
	for _, r := range repos {
		g := r.gpgcheck
		if g == "" {
			g = mainGPG
		}
		var detail []string
		if r.gpgcheck != "" {
			detail = append(detail, "gpgcheck="+r.gpgcheck)
		}
		if r.sslver != "" {
			detail = append(detail, "sslverify="+r.sslver)
		}
		for _, u := range r.urls {
			out = append(out, Source{Line: r.line, Manager: "yum", URI: u, Scheme: uriScheme(u),
				Trusted: off(g) || off(r.sslver), Enabled: !off(r.enabled), Detail: strings.Join(detail, " ")})
		}
	}
	return out
}

// ParsePip parses pip.conf: index-url and extra-index-url (one Source
// each), trusted-host marking its hosts' sources trusted.
func ParsePip(lines []Line) []Source {
	var urls []Source
	trusted := map[string]bool{}
	var hosts []struct {
		name string
		line int
	}
	key := ""
	for _, l := range lines {
		t := stripComment(l.Text)
		if t == "" || t[0] == '[' || t[0] == ';' {
			key = ""
			continue
		}
		var vals string
		if k, v, ok := strings.Cut(t, "="); ok && !strings.HasPrefix(l.Text, " ") && !strings.HasPrefix(l.Text, "\t") {
			key, vals = strings.ToLower(strings.TrimSpace(k)), v
		} else {
			vals = t // a continuation of the last key
		}
		for _, v := range strings.Fields(vals) {
			switch key {
			case "index-url", "extra-index-url", "index_url", "extra_index_url":
				urls = append(urls, Source{Line: l.N, Manager: "pip", URI: v, Scheme: uriScheme(v), Enabled: true})
			case "trusted-host", "trusted_host":
				if h := strings.ToLower(v); !trusted[h] {
					trusted[h] = true
					hosts = append(hosts, struct {
						name string
						line int
					}{h, l.N})
				}
			}
		}
	}
	used := map[string]bool{}
	for i := range urls {
		if u, err := url.Parse(urls[i].URI); err == nil {
			for _, h := range []string{strings.ToLower(u.Host), strings.ToLower(u.Hostname())} {
				if trusted[h] {
					urls[i].Trusted, urls[i].Detail = true, "trusted-host"
					used[h] = true
				}
			}
		}
	}
	// A trusted host no index of the file names is trusted all the same,
	// for the index pip is given elsewhere (PyPI, the environment, another
	// file): it is a source of its own.
	for _, h := range hosts {
		if !used[h.name] {
			urls = append(urls, Source{Line: h.line, Manager: "pip", URI: h.name, Trusted: true, Enabled: true, Detail: "trusted-host"})
		}
	}
	return urls
}

// ParseNpmrc parses .npmrc: registry and @scope:registry (one Source
// each), strict-ssl=false marking all of them trusted.
func ParseNpmrc(lines []Line) []Source {
	var out []Source
	strict, strictLine := true, 0
	for _, l := range lines {
		t := strings.TrimSpace(l.Text)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch {
		case k == "registry" || strings.HasSuffix(k, ":registry"):
			out = append(out, Source{Line: l.N, Manager: "npm", URI: v, Scheme: uriScheme(v), Enabled: true})
		case k == "strict-ssl" && strings.EqualFold(v, "false"):
			strict, strictLine = false, l.N
		}
	}
	if !strict {
		for i := range out {
			out[i].Trusted, out[i].Detail = true, "strict-ssl=false"
		}
		if len(out) == 0 { // the default registry, unchecked
			out = append(out, Source{Line: strictLine, Manager: "npm", URI: "https://registry.npmjs.org/", Scheme: "https",
				Trusted: true, Enabled: true, Detail: "strict-ssl=false (default registry)"})
		}
	}
	return out
}

// ParseGemrc parses a gemrc's :sources: list (YAML, one "- URL" a line).
func ParseGemrc(lines []Line) []Source {
	var out []Source
	in := false
	for _, l := range lines {
		t := strings.TrimSpace(l.Text)
		switch {
		case strings.HasPrefix(t, ":sources:"):
			in = true
		case in && strings.HasPrefix(t, "- "):
			u := strings.Trim(strings.TrimSpace(t[2:]), `"'`)
			out = append(out, Source{Line: l.N, Manager: "gem", URI: u, Scheme: uriScheme(u), Enabled: true})
		case t != "" && !strings.HasPrefix(t, "#"):
			in = false
		}
	}
	return out
}

// uriScheme returns the lower-case scheme of u, "" for a path.
func uriScheme(u string) string {
	if i := strings.Index(u, "://"); i > 0 {
		return strings.ToLower(u[:i])
	}
	if s, _, ok := strings.Cut(u, ":"); ok && (s == "cdrom" || s == "file" || s == "copy" || s == "mirror+file") {
		return s
	}
	return ""
}
