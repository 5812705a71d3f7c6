package pkgdb

import (
	"errors"
	"testing"
)

func TestOSReleaseFleetDebian(t *testing.T) {
	l := readFleetLayer(t, debianLayer)
	if e := l.entries["/etc/os-release"]; e.kind != Link || e.linkTarget != "../usr/lib/os-release" {
		t.Fatalf("/etc/os-release: %+v", e)
	}
	got, err := ParseOSRelease("/usr/lib/os-release", l.files["/usr/lib/os-release"])
	if err != nil {
		t.Fatal(err)
	}
	if want := (OSRelease{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"}); got != want {
		t.Errorf("%+v, want %+v", got, want)
	}
}

func TestOSRelease(t *testing.T) {
	got, err := ParseOSRelease("os-release", []byte("# Alpine\nNAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine \\\"Linux\\\" v3.19 \\$HOME\"\n\nHOME_URL='https://alpinelinux.org/'\n"))
	if want := (OSRelease{ID: "alpine", VersionID: "3.19.1", PrettyName: `Alpine "Linux" v3.19 $HOME`}); err != nil || got != want {
		t.Errorf("%+v %v, want %+v", got, err, want)
	}
	for name, data := range map[string]string{
		"open quote":    "PRETTY_NAME=\"Debian\n",
		"bare space":    "PRETTY_NAME=Debian GNU\n",
		"no assignment": "ID\n",
		"NUL":           "ID=deb\x00ian\n",
		"text after":    "ID=\"a\"b\n",
	} {
		if _, err := ParseOSRelease("os-release", []byte(data)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseOSRelease("os-release", make([]byte, 100<<10)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge: %v", err)
	}
}

func TestRecordsDigest(t *testing.T) {
	p := Package{Manager: Dpkg, Name: "coreutils", Version: "9.1-1", Architecture: "amd64", Files: []File{
		{Path: "/bin/ls", Algorithm: MD5, Digest: "0123456789abcdef0123456789abcdef"},
		{Path: "/bin/cat", Algorithm: MD5, Digest: "fedcba9876543210fedcba9876543210"},
	}}
	d := p.RecordsDigest()
	reordered := p
	reordered.Files = []File{p.Files[1], p.Files[0]}
	if reordered.RecordsDigest() != d {
		t.Error("file order changes the digest")
	}
	rewritten := p
	rewritten.Files = []File{p.Files[0], {Path: "/bin/cat", Algorithm: MD5, Digest: "00000000000000000000000000000000"}}
	if rewritten.RecordsDigest() == d {
		t.Error("a rewritten md5sums line keeps the digest")
	}
	// Field boundaries count: moving bytes between fields changes it.
	a := Package{Name: "ab", Version: "c"}
	b := Package{Name: "a", Version: "bc"}
	if a.RecordsDigest() == b.RecordsDigest() {
		t.Error("fields run together")
	}
	if p.Files[0].Path != "/bin/ls" {
		t.Error("RecordsDigest reordered the package's files")
	}
}
