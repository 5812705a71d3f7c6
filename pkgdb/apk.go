package pkgdb

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"path"
	"sort"
	"strings"
)

// The files of an apk database, as absolute paths in an image.
const (
	APKInstalled      = "/lib/apk/db/installed"
	APKProtectedPaths = "/etc/apk/protected_paths.d" // *.list
)

// IsAPKPath reports whether an image path is one ReadAPK reads.
func IsAPKPath(p string) bool {
	return p == APKInstalled || path.Dir(p) == APKProtectedPaths && strings.HasSuffix(p, ".list")
}

// ParseAPKInstalled parses apk's installed database: one package per
// paragraph (P: name, V: version, A: arch, o: origin, f: flags), its files
// as F: directory then R: file lines, each R: followed by its Z: checksum.
//
// Z: is decoded as apk-tools does: "Q1" + base64 is a SHA-1, "Q2" + base64
// a SHA-256, else hex by length (MD5, SHA-1, SHA-256); a SHA-1 of a
// package whose f: flags (read before it) hold S is the first 160 bits of
// a SHA-256. A symlink's checksum is over its target string. Directories
// (F:) are recorded with the Dir flag. The origin is the source package;
// its version is the package's (apk records no other).
func ParseAPKInstalled(name string, data []byte, lim Limits) ([]Package, error) {
	ls, err := textLines(name, data, lim)
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	var cur *Package
	sha256160 := false
	dir := "" // current F:, "" before any
	haveDir := false
	lastFile := -1 // index in cur.Files of the last R:
	records := 0
	end := func() {
		if cur != nil && cur.Name != "" {
			if cur.SourceName == "" {
				cur.SourceName = cur.Name
			}
			cur.SourceVersion = cur.Version
			pkgs = append(pkgs, *cur)
		}
		cur, sha256160, dir, haveDir, lastFile = nil, false, "", false, -1
	}
	for i, l := range ls {
		n := i + 1
		if len(l) < 2 {
			end()
			continue
		}
		if l[1] != ':' {
			return nil, malformed(name, n, "not a field: %s", quote(l))
		}
		if cur == nil {
			cur = &Package{Manager: APK, Installed: true}
		}
		v := l[2:]
		switch l[0] {
		case 'P':
			if cur.Name != "" {
				return nil, malformed(name, n, "second P: in one package (%s, %s)", quote(cur.Name), quote(v))
			}
			if v == "" || strings.ContainsAny(v, "/ \t") {
				return nil, malformed(name, n, "bad package name %s", quote(v))
			}
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'A':
			cur.Architecture = v
		case 'o':
			cur.SourceName = v
		case 'f':
			sha256160 = sha256160 || strings.Contains(v, "S")
		case 'F':
			if cur.Name == "" {
				return nil, malformed(name, n, "F: before P:")
			}
			dir, haveDir, lastFile = strings.Trim(v, "/"), true, -1
			cur.Files = append(cur.Files, File{Path: absPath(dir), Flags: Dir})
			records++
		case 'R':
			if !haveDir {
				return nil, malformed(name, n, "R: %s before any F:", quote(v))
			}
			if v == "" || strings.Contains(v, "/") {
				return nil, malformed(name, n, "bad file name %s", quote(v))
			}
			lastFile = len(cur.Files)
			cur.Files = append(cur.Files, File{Path: absPath(dir + "/" + v)})
			records++
		case 'Z':
			if lastFile < 0 {
				return nil, malformed(name, n, "Z: without R:")
			}
			alg, sum, err := apkDigest(v)
			if err != nil {
				return nil, malformed(name, n, "checksum of %s: %s", quote(cur.Files[lastFile].Path), err.Error())
			}
			if alg == SHA1 && sha256160 {
				alg = SHA256_160
			}
			cur.Files[lastFile].Algorithm, cur.Files[lastFile].Digest = alg, sum
		}
		if records+len(pkgs) > lim.MaxRecords {
			return nil, tooMany(name, lim)
		}
	}
	end()
	return pkgs, nil
}

// apkDigest decodes a Z: checksum (apk_blob_pull_digest).
func apkDigest(s string) (Algorithm, string, error) {
	if len(s) > 2 && s[0] == 'Q' {
		b, err := base64.StdEncoding.DecodeString(s[2:])
		if err != nil {
			return "", "", errors.New("bad base64 " + quote(s))
		}
		switch {
		case s[1] == '1' && len(b) == 20:
			return SHA1, hex.EncodeToString(b), nil
		case s[1] == '2' && len(b) == 32:
			return SHA256, hex.EncodeToString(b), nil
		}
		return "", "", errors.New("unknown checksum " + quote(s))
	}
	switch {
	case isHex(s, 32):
		return MD5, strings.ToLower(s), nil
	case isHex(s, 40):
		return SHA1, strings.ToLower(s), nil
	case isHex(s, 64):
		return SHA256, strings.ToLower(s), nil
	}
	return "", "", errors.New("unknown checksum " + quote(s))
}

// ProtectMode is how apk treats the files beneath a protected path.
type ProtectMode uint8

// The modes of /etc/apk/protected_paths.d lines, by their first character.
const (
	ProtectNone         ProtectMode = iota // no rule: a system file
	ProtectIgnore                          // "-": apk audit ignores the path
	ProtectChanged                         // "+" (or no prefix): config, changes reported
	ProtectSymlinksOnly                    // "@": only symlinks are config
	ProtectAll                             // "!": config, every file reported
)

// ProtectedPath is one line of a protected_paths.d list.
type ProtectedPath struct {
	Mode    ProtectMode
	Pattern string // relative to the root, no leading or trailing "/"
}

// ProtectedPaths are the rules of /etc/apk/protected_paths.d, in the order
// apk reads them.
type ProtectedPaths []ProtectedPath

// defaultProtectedPaths is what apk-tools uses when the image has no
// protected_paths.d.
var defaultProtectedPaths = ProtectedPaths{
	{ProtectChanged, "etc"}, {ProtectSymlinksOnly, "etc/init.d"}, {ProtectAll, "etc/apk"},
}

// ParseAPKProtectedPaths reads the rules of the protected_paths.d lists,
// keyed by absolute path (other keys are ignored), in name order. With no
// list at all it returns apk-tools' defaults (+etc, @etc/init.d,
// !etc/apk).
func ParseAPKProtectedPaths(files map[string][]byte, lim Limits) (ProtectedPaths, error) {
	var names []string
	for n := range files {
		if path.Dir(n) == APKProtectedPaths && strings.HasSuffix(n, ".list") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return defaultProtectedPaths, nil
	}
	sort.Strings(names)
	var out ProtectedPaths
	for _, n := range names {
		ls, err := textLines(n, files[n], lim)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			if l == "" || l[0] == '#' {
				continue
			}
			mode, pattern := ProtectChanged, l[1:]
			switch l[0] {
			case '-':
				mode = ProtectIgnore
			case '+':
			case '@':
				mode = ProtectSymlinksOnly
			case '!':
				mode = ProtectAll
			default:
				pattern = l
			}
			out = append(out, ProtectedPath{Mode: mode, Pattern: strings.Trim(pattern, "/")})
			if len(out) > lim.MaxRecords {
				return nil, tooMany(n, lim)
			}
		}
	}
	return out, nil
}

// Mode returns the protection of the file at absolute path p, as apk-tools
// derives it: each directory inherits its parent's mode and takes that of
// the last rule whose pattern (fnmatch with FNM_PATHNAME, one path
// component at a time) names it; the file takes its directory's, or that
// of the last rule naming the file itself.
func (pp ProtectedPaths) Mode(p string) ProtectMode {
	parts := strings.Split(strings.Trim(path.Clean(p), "/"), "/")
	mode := ProtectNone
	rules := []ProtectedPath(pp)
	for i, c := range parts {
		last := i == len(parts)-1
		var next []ProtectedPath
		for _, r := range rules {
			first, rest, nested := strings.Cut(r.Pattern, "/")
			switch {
			case nested && !last:
				if fnmatch(first, c, true) {
					next = append(next, ProtectedPath{Mode: r.Mode, Pattern: rest})
				}
			case !nested && fnmatch(first, c, true):
				mode = r.Mode
			}
		}
		rules = next
	}
	return mode
}

// apkFlags are the flags a protection mode gives a file record: config for
// "+" and "!"; for "@" only when the file is a symlink (ConfigSymlink).
func apkFlags(m ProtectMode) Flags {
	switch m {
	case ProtectChanged, ProtectAll:
		return Conffile
	case ProtectSymlinksOnly:
		return ConfigSymlink
	}
	return 0
}

// APKDB is an apk database assembled from its files.
type APKDB struct {
	Packages  []Package
	Protected ProtectedPaths
}

// ReadAPK assembles an apk database from its files (image path -> bytes;
// the paths IsAPKPath accepts): the installed packages, each file flagged
// by the protected path rules it falls under. A file that does not parse
// is named in the returned error with what the others gave.
func ReadAPK(files map[string][]byte, lim Limits) (*APKDB, error) {
	var errs []error
	db := &APKDB{}
	pp, err := ParseAPKProtectedPaths(files, lim)
	if err != nil {
		errs = append(errs, err)
		pp = defaultProtectedPaths
	}
	db.Protected = pp
	if data, ok := files[APKInstalled]; ok {
		pkgs, err := ParseAPKInstalled(APKInstalled, data, lim)
		if err != nil {
			errs = append(errs, err)
		}
		for i := range pkgs {
			for j := range pkgs[i].Files {
				f := &pkgs[i].Files[j]
				if f.Flags&Dir == 0 {
					f.Flags |= apkFlags(pp.Mode(f.Path))
				}
			}
		}
		db.Packages = pkgs
	}
	return db, errors.Join(errs...)
}
