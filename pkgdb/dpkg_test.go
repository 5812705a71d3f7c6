package pkgdb

import (
	"errors"
	"strings"
	"testing"
)

// TestDpkgFleetDebian reads the dpkg database of the fleet's Debian layer
// from its blob and checks every package record against the layer's own
// files, as debsums would inside it.
func TestDpkgFleetDebian(t *testing.T) {
	l := readFleetLayer(t, debianLayer)
	db, err := ReadDpkg(l.files, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Package{}
	for _, p := range db.Packages {
		if !p.Installed || p.Status != "install ok installed" {
			t.Errorf("%s: status %q", p.Name, p.Status)
		}
		byName[p.Name] = p
	}
	if len(byName) != 88 {
		t.Errorf("%d packages, want the 88 of the status file", len(byName))
	}
	bash := byName["bash"]
	if bash.Version != "5.2.15-2+b13" || bash.SourceName != "bash" || bash.SourceVersion != "5.2.15-2" || bash.Architecture != "amd64" {
		t.Errorf("bash: %+v", bash)
	}
	if ul := byName["bsdutils"]; ul.Version != "1:2.38.1-5+deb12u3" || ul.SourceName != "util-linux" || ul.SourceVersion != "2.38.1-5+deb12u3" {
		t.Errorf("bsdutils: version %q source %q %q", ul.Version, ul.SourceName, ul.SourceVersion)
	}
	if c := byName["coreutils"]; c.SourceName != "coreutils" || c.SourceVersion != c.Version {
		t.Errorf("coreutils without Source: source %q %q", c.SourceName, c.SourceVersion)
	}
	libc := byName["libc6"]
	if len(libc.Files) < 100 {
		t.Errorf("libc6 (info/libc6:amd64.*): %d files", len(libc.Files))
	}
	want := []Diversion{
		{From: "/usr/share/man/man1/sh.1.gz", To: "/usr/share/man/man1/sh.distrib.1.gz", By: "dash"},
		{From: "/bin/sh", To: "/bin/sh.distrib", By: "dash"},
	}
	if len(db.Diversions) != 2 || db.Diversions[0] != want[0] || db.Diversions[1] != want[1] {
		t.Errorf("diversions %+v", db.Diversions)
	}
	if to, ok := DivertedTo(db.Diversions, "/bin/sh", "bash"); !ok || to != "/bin/sh.distrib" {
		t.Errorf("DivertedTo(/bin/sh, bash) = %q %v", to, ok)
	}
	if _, ok := DivertedTo(db.Diversions, "/bin/sh", "dash"); ok {
		t.Error("dash's own /bin/sh counted as diverted")
	}

	counts := map[Status]int{}
	conffiles := 0
	for _, p := range db.Packages {
		for _, f := range p.Files {
			if f.Flags&Conffile != 0 {
				conffiles++
				if f.Algorithm != MD5 || len(f.Digest) != 32 {
					t.Errorf("%s conffile %s: %s %q", p.Name, f.Path, f.Algorithm, f.Digest)
				}
			}
			if f.Digest == "" {
				continue
			}
			o := l.observe(f.Path)
			if _, ok := DivertedTo(db.Diversions, f.Path, p.Name); ok {
				o.Diverted = true
			}
			o.Excluded = db.Filters.Excluded(f.Path, false)
			st := Verify(f, o)
			counts[st]++
			switch st {
			case OK:
			case Missing:
				// The image is trimmed as debian:bookworm-slim is: docs,
				// man pages and locales were removed by hand (no
				// path-exclude), so debsums reports them missing too.
				if !strings.HasPrefix(f.Path, "/usr/share/") {
					t.Errorf("%s %s missing", p.Name, f.Path)
				}
			default:
				t.Errorf("%s %s: %s", p.Name, f.Path, st)
			}
		}
	}
	if counts[OK] < 2000 || counts[Missing] == 0 || conffiles < 20 {
		t.Errorf("statuses %v, %d conffiles", counts, conffiles)
	}

	// A binary tampered in the layer is found; a conffile edited is
	// judged as one.
	var ls File
	for _, f := range byName["coreutils"].Files {
		if f.Path == "/bin/ls" {
			ls = f
		}
	}
	evil := contentEntry([]byte("\x7fELF trojan"))
	if st := Verify(ls, Observed{Kind: Regular, MD5: evil.md5}); st != Modified {
		t.Errorf("tampered /bin/ls: %s (record %+v)", st, ls)
	}
	for _, f := range byName["base-files"].Files {
		if f.Path == "/etc/issue" {
			if f.Flags&Conffile == 0 {
				t.Errorf("/etc/issue not a conffile")
			}
			if st := Verify(f, Observed{Kind: Regular, MD5: evil.md5}); st != ConffileModified {
				t.Errorf("edited /etc/issue: %s", st)
			}
		}
	}
}

func TestDpkgStatus(t *testing.T) {
	status := `Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u10
Conffiles:
 /etc/ld.so.conf.d/x86_64-linux-gnu.conf d4e7a7b88a71b5ffd9e2644e71a0cfab
 /etc/old.conf 00000000000000000000000000000000 obsolete
 /etc/new.conf newconffile
Description: GNU C Library
 Contains the standard libraries.
 .
 More.

Package: removed
Status: deinstall ok config-files
Version: 1.0

Description: a stanza without a Package field is ignored

Package: half
Status: install ok half-configured
Version: 2

Package: held
Status: hold ok installed
Version: 3

Package: unpacked
Status: install ok unpacked
Version: 4

Package: gone
Status: purge ok not-installed
`
	pkgs, err := ParseDpkgStatus("status", []byte(status), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 6 {
		t.Fatalf("%d packages: %+v", len(pkgs), pkgs)
	}
	libc := pkgs[0]
	if libc.Name != "libc6" || libc.SourceName != "glibc" || libc.SourceVersion != "2.36-9+deb12u10" || !libc.Installed || len(libc.Files) != 3 {
		t.Errorf("libc6: %+v", libc)
	}
	if f := libc.Files[0]; f.Path != "/etc/ld.so.conf.d/x86_64-linux-gnu.conf" || f.Digest != "d4e7a7b88a71b5ffd9e2644e71a0cfab" || f.Flags != Conffile {
		t.Errorf("conffile %+v", f)
	}
	if f := libc.Files[1]; f.Flags != Conffile|Obsolete {
		t.Errorf("obsolete conffile %+v", f)
	}
	if f := libc.Files[2]; f.Digest != "" || f.Algorithm != NoDigest {
		t.Errorf("newconffile %+v", f)
	}
	// As debsums: the state decides (installed, half-configured), not the
	// want (a held package is installed) nor the error flag.
	for i, want := range []bool{true, false, true, true, false, false} {
		if pkgs[i].Installed != want {
			t.Errorf("%s (%s): installed %v", pkgs[i].Name, pkgs[i].Status, pkgs[i].Installed)
		}
	}
	// distroless status.d: no Status field.
	d, err := ParseDpkgStatus("status.d/tzdata", []byte("Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"), DefaultLimits)
	if err != nil || len(d) != 1 || !d[0].Installed {
		t.Errorf("distroless stanza: %+v %v", d, err)
	}
}

// TestReadDpkgDistroless: status.d/<name> stanzas and their
// status.d/<name>.md5sums, no info/ directory.
func TestReadDpkgDistroless(t *testing.T) {
	files := map[string][]byte{
		"/var/lib/dpkg/status.d/base":             []byte("Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n"),
		"/var/lib/dpkg/status.d/base.md5sums":     []byte("d41d8cd98f00b204e9800998ecf8427e  etc/debian_version\n"),
		"/var/lib/dpkg/status.d/tzdata":           []byte("Package: tzdata\nVersion: 2024a\nArchitecture: all\n"),
		"/var/lib/dpkg/status.d/tzdata.md5sums":   []byte("0123456789abcdef0123456789abcdef  usr/share/zoneinfo/UTC\n"),
		"/etc/dpkg/dpkg.cfg.d/excludes":           []byte("path-exclude /usr/share/doc/*\n"),
		"/etc/dpkg/dpkg.cfg.d/excludes.dpkg-old":  []byte("path-exclude /usr/*\n"),
		"/etc/dpkg/dpkg.cfg.d/late":               []byte("# later files win\npath-include=/usr/share/doc/*/copyright\n"),
		"/var/lib/dpkg/info/unrelated-pkg.list":   []byte("/x\n"),
		"/var/lib/dpkg/status.d/broken":           []byte("Package: broken\n continuation\nnot a field\n"),
		"/var/lib/dpkg/info/base-files.md5sums":   []byte("zz  not-hex\n"),
		"/var/lib/dpkg/status.d/zz.md5sums.extra": []byte("Package: zz\n"),
	}
	db, err := ReadDpkg(files, DefaultLimits)
	if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "/var/lib/dpkg/status.d/broken line 3") {
		t.Errorf("want the broken stanza file named: %v", err)
	}
	if len(db.Packages) != 3 {
		t.Fatalf("packages %+v", db.Packages)
	}
	base := db.Packages[0]
	if base.Name != "base-files" || len(base.Files) != 1 || base.Files[0].Path != "/etc/debian_version" || base.Files[0].Digest != "d41d8cd98f00b204e9800998ecf8427e" {
		t.Errorf("base-files from status.d/base.md5sums: %+v", base)
	}
	if tz := db.Packages[1]; len(tz.Files) != 1 || tz.Files[0].Path != "/usr/share/zoneinfo/UTC" {
		t.Errorf("tzdata %+v", tz)
	}
	if len(db.Filters) != 2 {
		t.Fatalf("filters %+v (the .dpkg-old file must be skipped)", db.Filters)
	}
	for _, tt := range []struct {
		p    string
		dir  bool
		want bool
	}{
		{"/usr/share/doc/bash/README", false, true},
		{"/usr/share/doc/bash/copyright", false, false},
		// dpkg keeps an excluded directory only when an include glob's
		// literal prefix is at least as long as it and starts with it.
		{"/usr/share/doc/bash", true, true},
		{"/usr/bin/bash", false, false},
	} {
		if got := db.Filters.Excluded(tt.p, tt.dir); got != tt.want {
			t.Errorf("Excluded(%s, %v) = %v", tt.p, tt.dir, got)
		}
	}
	fs := DpkgFilters{{Glob: "/usr/share/*"}, {Include: true, Glob: "/usr/share/doc/bash/copyright"}}
	if !fs.Excluded("/usr/share/doc", false) || fs.Excluded("/usr/share/doc", true) || !fs.Excluded("/usr/share/man", true) {
		t.Error("an excluded directory is kept only when an include names a path beneath it")
	}
}

func TestReadDpkgInfoFiles(t *testing.T) {
	files := map[string][]byte{
		DpkgStatus: []byte("Package: nginx-common\nStatus: install ok installed\nVersion: 1.22.1-9\nArchitecture: all\n" +
			"Conffiles:\n /etc/nginx/nginx.conf 5a4e1f9a1e1c2f8e8b4a3d0c9b7e6f10\n\n" +
			"Package: libc6\nStatus: install ok installed\nVersion: 2.36\nArchitecture: amd64\n"),
		"/var/lib/dpkg/info/nginx-common.list":      []byte("/.\n/etc\n/etc/nginx\n/etc/nginx/nginx.conf\n/usr/sbin/nginx\n"),
		"/var/lib/dpkg/info/nginx-common.md5sums":   []byte("0123456789abcdef0123456789abcdef  usr/sbin/nginx\n"),
		"/var/lib/dpkg/info/nginx-common.conffiles": []byte("remove-on-upgrade /etc/nginx/nginx.conf\n"),
		"/var/lib/dpkg/info/libc6:amd64.list":       []byte("/lib64/ld-linux-x86-64.so.2\n"),
		"/var/lib/dpkg/info/libc6:i386.list":        []byte("/lib/ld-linux.so.2\n"),
	}
	db, err := ReadDpkg(files, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	ng := db.Packages[0]
	paths := []string{}
	for _, f := range ng.Files {
		paths = append(paths, f.Path)
	}
	if strings.Join(paths, " ") != "/ /etc /etc/nginx /etc/nginx/nginx.conf /usr/sbin/nginx" {
		t.Errorf("nginx-common paths %v", paths)
	}
	if f := ng.Files[3]; f.Flags != Conffile || f.Digest != "5a4e1f9a1e1c2f8e8b4a3d0c9b7e6f10" {
		t.Errorf("conffile record %+v", f)
	}
	if f := ng.Files[4]; f.Digest != "0123456789abcdef0123456789abcdef" || f.Flags != 0 {
		t.Errorf("md5sums record %+v", f)
	}
	if l := db.Packages[1]; len(l.Files) != 1 || l.Files[0].Path != "/lib64/ld-linux-x86-64.so.2" {
		t.Errorf("libc6 amd64 takes libc6:amd64.list: %+v", l.Files)
	}
}

// TestDpkgHostile: every malformed input is one clear error naming the
// file, never a panic, and bounded.
func TestDpkgHostile(t *testing.T) {
	for _, tt := range []struct {
		name  string
		parse func([]byte) error
		data  string
		want  error
		in    string
	}{
		{"NUL in status", status, "Package: a\nVersion: 1\x00\n", ErrMalformed, "line 2: NUL byte"},
		{"continuation first", status, " orphan\nPackage: a\n", ErrMalformed, "line 1: continuation"},
		{"garbage line", status, "Package: a\n\x01\x02garbage\n", ErrMalformed, "line 2: not a field"},
		{"field name with space", status, "Pack age: a\n", ErrMalformed, "not a field"},
		{"bad package name", status, "Package: a/../../b\n", ErrMalformed, "bad package name"},
		{"bad source", status, "Package: a\nSource: b 1.0\n", ErrMalformed, "bad Source"},
		{"bad conffile", status, "Package: a\nConffiles:\n etc/x 123\n", ErrMalformed, "conffile"},
		{"huge status", status, strings.Repeat("Package: a\n\n", 1) + strings.Repeat("x", 2<<20), ErrTooLarge, "limit"},
		{"long line", status, "Package: " + strings.Repeat("a", 5000) + "\n", ErrTooLarge, "line 1"},
		{"many stanzas", status, strings.Repeat("Package: a\nVersion: 1\n\n", 2000), ErrTooLarge, "more than 1000"},
		{"relative list entry", list, "/usr\nusr/bin\n", ErrMalformed, "line 2: not an absolute path"},
		{"truncated md5sums", md5sums, "0123456789abcdef0123456789abcdef  usr/bin/a\n0123456789ab", ErrMalformed, "line 2"},
		{"md5sums without path", md5sums, "0123456789abcdef0123456789abcdef\n", ErrMalformed, "line 1"},
		{"truncated diversions", diversions, "/bin/sh\n/bin/sh.distrib\n", ErrMalformed, "not a multiple of 3"},
		{"relative diversion", diversions, "bin/sh\n/bin/sh.distrib\ndash\n", ErrMalformed, "bad diversion"},
		{"relative filter", filters, "path-exclude usr/share\n", ErrMalformed, "absolute glob"},
	} {
		err := tt.parse([]byte(tt.data))
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.in) || !strings.HasPrefix(err.Error(), "hostile-db") && !strings.HasPrefix(err.Error(), DpkgConfigD+"/hostile-db") {
			t.Errorf("%s: %v, want %v containing %q, naming the file", tt.name, err, tt.want, tt.in)
		}
	}
}

var small = Limits{MaxSize: 1 << 20, MaxRecords: 1000, MaxLine: 4096}

func status(b []byte) error {
	_, err := ParseDpkgStatus("hostile-db", b, small)
	return err
}
func list(b []byte) error {
	_, err := ParseDpkgList("hostile-db", b, small)
	return err
}
func md5sums(b []byte) error {
	_, err := ParseDpkgMD5sums("hostile-db", b, small)
	return err
}
func diversions(b []byte) error {
	_, err := ParseDpkgDiversions("hostile-db", b, small)
	return err
}
func filters(b []byte) error {
	_, err := ParseDpkgFilters(map[string][]byte{DpkgConfigD + "/hostile-db": b}, small)
	return err
}
