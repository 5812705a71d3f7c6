package pkgdb

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"maps"
	"strings"
	"testing"
)

// busyboxLayer is the one layer of the fleet's tools/busybox:1.35
// (linux/amd64): a static busybox with hardlinked applets, /etc/passwd and
// /etc/group.
const busyboxLayer = "a4181562f8708e53b1ce817adb6f8a3aa48b569b53680a3e8282e56775766d9f"

// q1 is apk's Z: form of a SHA-1 (or of a SHA-256 cut to 160 bits) given
// as hex.
func q1(t *testing.T, hexsum string) string {
	t.Helper()
	b, err := hex.DecodeString(hexsum)
	if err != nil || len(b) < 20 {
		t.Fatalf("q1(%q)", hexsum)
	}
	return "Q1" + base64.StdEncoding.EncodeToString(b[:20])
}

// TestAPKInstalled checks an installed database written in apk's format
// over the real files of the fleet's busybox layer: checksums computed
// here from the layer's bytes (SHA-1, and SHA-256/160 for a package with
// f:S), a symlink checksummed over its target, conffiles from apk-tools'
// default protected paths, and what tampering gives.
func TestAPKInstalled(t *testing.T) {
	base := readFleetLayer(t, busyboxLayer)
	l := &tarLayer{entries: maps.Clone(base.entries)}
	l.entries["/sbin/init"] = entry{kind: Link, linkTarget: "/bin/busybox"}
	bb, passwd, group := l.entries["/bin/busybox"], l.entries["/etc/passwd"], l.entries["/etc/group"]
	if bb.kind != Regular || passwd.kind != Regular || group.kind != Regular {
		t.Fatalf("busybox layer: %+v %+v %+v", bb, passwd, group)
	}
	target := sha1.Sum([]byte("/bin/busybox"))
	wrong := sha1.Sum([]byte("root:x:0:0:root:/root:/bin/sh\nevil::0:0::/:/bin/sh\n"))
	installed := strings.Join([]string{
		"C:Q1nLtCzp4XbmDmHk3FpCjoB8mRGEc=",
		"P:busybox",
		"V:1.35.0-r0",
		"A:x86_64",
		"S:512345",
		"I:1982256",
		"T:Size optimized toolbox of many common UNIX utilities",
		"U:https://busybox.net/",
		"L:GPL-2.0-only",
		"o:busybox",
		"m:Sören Tempel <soeren+alpine@soeren-tempel.net>",
		"t:1650000000",
		"c:0123456789abcdef0123456789abcdef01234567",
		"D:so:libc.musl-x86_64.so.1",
		"p:/bin/sh cmd:busybox=1.35.0-r0",
		"F:bin",
		"R:busybox",
		"a:0:0:755",
		"Z:" + q1(t, bb.sha1),
		"R:sh",
		"a:0:0:777",
		"Z:" + q1(t, bb.sha1),
		"R:gone",
		"Z:" + q1(t, bb.sha1),
		"F:sbin",
		"R:init",
		"a:0:0:777",
		"Z:" + q1(t, hex.EncodeToString(target[:])),
		"F:etc",
		"M:0:0:755",
		"R:passwd",
		"Z:" + q1(t, passwd.sha1),
		"R:group",
		"Z:" + q1(t, hex.EncodeToString(wrong[:])),
		"",
		"C:Q1s0mEcHeCkSuMoFtHePaCkAgEeeeeee=",
		"P:busybox-binsh",
		"V:1.35.0-r0",
		"A:x86_64",
		"o:busybox",
		"f:S",
		"F:usr/bin",
		"R:arch",
		"Z:" + q1(t, bb.sha256), // sha256 cut to 160 bits, under f:S
		"R:arch-sha1",
		"Z:" + q1(t, bb.sha1), // a real SHA-1 is wrong for an f:S package
		"",
	}, "\n")
	l.entries["/usr/bin/arch"] = bb
	l.entries["/usr/bin/arch-sha1"] = bb
	db, err := ReadAPK(map[string][]byte{APKInstalled: []byte(installed)}, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Packages) != 2 {
		t.Fatalf("packages %+v", db.Packages)
	}
	p := db.Packages[0]
	if p.Manager != APK || p.Name != "busybox" || p.Version != "1.35.0-r0" || p.Architecture != "x86_64" || p.SourceName != "busybox" || p.SourceVersion != "1.35.0-r0" || !p.Installed {
		t.Errorf("busybox: %+v", p)
	}
	if bsh := db.Packages[1]; bsh.SourceName != "busybox" || bsh.Name != "busybox-binsh" {
		t.Errorf("busybox-binsh: %+v", bsh)
	}
	got := map[string]Status{}
	for _, p := range db.Packages {
		for _, f := range p.Files {
			// apk audit does not follow the final symlink.
			lookup := func(q string) entry { return l.entries[q] }
			e := lookup(resolve(f.Path, false, lookup))
			got[f.Path] = Verify(f, Observed{Kind: e.kind, LinkTarget: e.linkTarget, SHA1: e.sha1, SHA256: e.sha256})
		}
	}
	for p, want := range map[string]Status{
		"/bin":               OK,
		"/bin/busybox":       OK,
		"/bin/sh":            OK, // a hardlink of busybox
		"/bin/gone":          Missing,
		"/sbin/init":         OK, // symlink: Z over "/bin/busybox"
		"/etc":               OK,
		"/etc/passwd":        OK,
		"/etc/group":         ConffileModified, // +etc by default
		"/usr/bin/arch":      OK,
		"/usr/bin/arch-sha1": Modified,
	} {
		if got[p] != want {
			t.Errorf("%s: %s, want %s", p, got[p], want)
		}
	}

	// A binary replaced without its record, and a symlink retargeted.
	f := db.Packages[0].Files[1]
	evil := contentEntry([]byte("\x7fELF trojan"))
	if st := Verify(f, Observed{Kind: Regular, SHA1: evil.sha1, SHA256: evil.sha256}); st != Modified {
		t.Errorf("tampered %s: %s", f.Path, st)
	}
	init := db.Packages[0].Files[5]
	if st := Verify(init, Observed{Kind: Link, LinkTarget: "/tmp/.x/busybox"}); init.Path != "/sbin/init" || st != Modified {
		t.Errorf("retargeted %s: %s", init.Path, st)
	}
}

func TestAPKProtectedPaths(t *testing.T) {
	pp, err := ParseAPKProtectedPaths(map[string][]byte{
		APKProtectedPaths + "/base.list":  []byte("# alpine-baselayout\n+etc\n@etc/init.d\n!etc/apk\n-etc/ssl/certs/\n"),
		APKProtectedPaths + "/zz.list":    []byte("/usr/share/myapp/*.conf\n+usr/local/etc\n"),
		APKProtectedPaths + "/notes.txt":  []byte("+usr\n"),
		"/etc/apk/protected_paths.d.list": []byte("+usr\n"),
	}, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(pp) != 6 {
		t.Fatalf("rules %+v", pp)
	}
	for _, tt := range []struct {
		p    string
		want ProtectMode
	}{
		{"/etc/passwd", ProtectChanged},
		{"/etc/init.d/sshd", ProtectSymlinksOnly},
		{"/etc/apk/world", ProtectAll},
		{"/etc/ssl/certs/ca.pem", ProtectIgnore},
		{"/etc/ssl/openssl.cnf", ProtectChanged},
		{"/usr/share/myapp/app.conf", ProtectChanged},
		{"/usr/share/myapp/app.dat", ProtectNone},
		{"/usr/share/myapp/sub/app.conf", ProtectNone},
		{"/usr/local/etc/x/y", ProtectChanged},
		{"/usr/bin/busybox", ProtectNone},
		{"/etcx/passwd", ProtectNone},
	} {
		if got := pp.Mode(tt.p); got != tt.want {
			t.Errorf("Mode(%s) = %d, want %d", tt.p, got, tt.want)
		}
	}
	def, err := ParseAPKProtectedPaths(nil, DefaultLimits)
	if err != nil || def.Mode("/etc/init.d/x") != ProtectSymlinksOnly || def.Mode("/etc/hosts") != ProtectChanged || def.Mode("/bin/sh") != ProtectNone {
		t.Errorf("defaults %+v %v", def, err)
	}
	// "@": a link there is config, a file is not.
	rec := File{Path: "/etc/init.d/sshd", Algorithm: SHA1, Digest: strings.Repeat("0", 40), Flags: apkFlags(ProtectSymlinksOnly)}
	if Verify(rec, Observed{Kind: Link, LinkTarget: "x"}) != ConffileModified || Verify(rec, Observed{Kind: Regular, SHA1: strings.Repeat("1", 40)}) != Modified {
		t.Error("@ paths: symlinks are config, files are not")
	}
}

func TestAPKHostile(t *testing.T) {
	sum := sha256.Sum256(nil)
	for _, tt := range []struct {
		name, data string
		want       error
		in         string
	}{
		{"NUL", "P:a\nV:1\x00\n", ErrMalformed, "line 2: NUL byte"},
		{"no colon", "P:a\nVV1\n", ErrMalformed, "line 2: not a field"},
		{"R before F", "P:a\nR:x\n", ErrMalformed, "before any F:"},
		{"F before P", "F:bin\nP:a\n", ErrMalformed, "F: before P:"},
		{"Z without R", "P:a\nF:bin\nZ:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", ErrMalformed, "Z: without R:"},
		{"bad base64", "P:a\nF:bin\nR:x\nZ:Q1!!!!\n", ErrMalformed, "bad base64"},
		{"Q1 of 32 bytes", "P:a\nF:bin\nR:x\nZ:Q1" + base64.StdEncoding.EncodeToString(sum[:]) + "\n", ErrMalformed, "unknown checksum"},
		{"file name with slash", "P:a\nF:bin\nR:../../etc/shadow\n", ErrMalformed, "bad file name"},
		{"two names", "P:a\nP:b\n", ErrMalformed, "second P:"},
		{"huge", "P:a\n" + strings.Repeat("T:x\n", 300000), ErrTooLarge, "limit"},
		{"many files", "P:a\nF:bin\n" + strings.Repeat("R:x\n", 2000), ErrTooLarge, "more than 1000"},
	} {
		_, err := ParseAPKInstalled("hostile-db", []byte(tt.data), small)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.in) || !strings.HasPrefix(err.Error(), "hostile-db") {
			t.Errorf("%s: %v, want %v containing %q", tt.name, err, tt.want, tt.in)
		}
	}
	// A truncated database keeps what it holds: the last package ends at
	// the end of the file.
	pkgs, err := ParseAPKInstalled("db", []byte("P:a\nV:1\nF:bin\nR:x\nZ:Q1"), DefaultLimits)
	if err == nil || len(pkgs) != 0 {
		t.Errorf("truncated Z: %v %+v", err, pkgs)
	}
	pkgs, err = ParseAPKInstalled("db", []byte("P:a\nV:1\nF:bin\nR:x"), DefaultLimits)
	if err != nil || len(pkgs) != 1 || len(pkgs[0].Files) != 2 {
		t.Errorf("truncated after R: %v %+v", err, pkgs)
	}
}
