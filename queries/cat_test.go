package queries

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func tarOf(t *testing.T, files ...[2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		if strings.HasPrefix(f[1], "->") {
			tw.WriteHeader(&tar.Header{Name: f[0], Typeflag: tar.TypeLink, Linkname: f[1][2:]})
			continue
		}
		tw.WriteHeader(&tar.Header{Name: f[0], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f[1]))})
		tw.Write([]byte(f[1]))
	}
	tw.Close()
	return b.Bytes()
}

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func TestTarFile(t *testing.T) {
	layer := tarOf(t, [2]string{"./etc/a", "first"}, [2]string{"etc/b", "second\n"}, [2]string{"etc/c", "->etc/b"})
	read := func(f *FileRef) (string, error) {
		r, err := TarFile(bytes.NewReader(layer), f)
		if err != nil {
			return "", err
		}
		b, err := io.ReadAll(r)
		return string(b), err
	}
	ok := &FileRef{DataSeq: 1, DataPath: "/etc/b", Size: 7, SHA256: sum("second\n"), LayerDigest: "sha256:l"}
	if got, err := read(ok); err != nil || got != "second\n" {
		t.Errorf("entry 1: %q %v", got, err)
	}
	for name, f := range map[string]*FileRef{
		"wrong hash":  {DataSeq: 1, DataPath: "/etc/b", Size: 7, SHA256: sum("other"), LayerDigest: "sha256:l"},
		"wrong size":  {DataSeq: 1, DataPath: "/etc/b", Size: 8, SHA256: sum("second\n"), LayerDigest: "sha256:l"},
		"wrong entry": {DataSeq: 0, DataPath: "/etc/b", Size: 7, SHA256: sum("second\n"), LayerDigest: "sha256:l"},
		"not a file":  {DataSeq: 2, DataPath: "/etc/c", Size: 0, SHA256: sum(""), LayerDigest: "sha256:l"},
		"past end":    {DataSeq: 7, DataPath: "/etc/b", Size: 7, SHA256: sum("second\n"), LayerDigest: "sha256:l"},
	} {
		if _, err := read(f); !errors.Is(err, ErrContentMismatch) {
			t.Errorf("%s: %v, want ErrContentMismatch", name, err)
		}
	}
}

func TestLooksBinary(t *testing.T) {
	for in, want := range map[string]bool{
		"plain text\n\ttabbed\r\n": false,
		"ünïcødé 文件\n":             false,
		"\x7fELF\x02\x01":          true,
		"nul\x00inside":            true,
		"escape \x1b[31m red":      true,
		"bad utf8 \xff":            true,
		"":                         false,
	} {
		if got := LooksBinary([]byte(in), true); got != want {
			t.Errorf("LooksBinary(%q) = %v, want %v", in, got, want)
		}
	}
	// A character cut by the end of the sample is not binary.
	if LooksBinary([]byte("ok \xe6\x96"), false) {
		t.Error("cut character taken as binary")
	}
}

func TestLocate(t *testing.T) {
	ctx := context.Background()
	db := fleet(t)
	deb := resolve(t, db, "library/debian:bookworm", "")
	// /etc/os-release -> ../usr/lib/os-release, and /bin -> usr/bin.
	for p, want := range map[string]string{
		"/etc/os-release":      "/usr/lib/os-release",
		"/bin/bash":            "/usr/bin/bash",
		"/usr/bin/../bin/bash": "/usr/bin/bash",
	} {
		f, err := Locate(ctx, db, deb, p, -1)
		if err != nil || f.Path != want || f.Type != "file" || len(f.SHA256) != 64 {
			t.Errorf("Locate(%s) = %+v %v, want %s", p, f, err, want)
		}
	}
	// A hardlink's bytes are in the entry it links to.
	bb := resolve(t, db, "tools/busybox:1.35-zstd", "")
	f, err := Locate(ctx, db, bb, "/bin/ls", -1)
	if err != nil || f.Type != "hardlink" || f.DataSeq >= f.Seq || f.Size == 0 {
		t.Errorf("busybox /bin/ls: %+v %v", f, err)
	}
	cc := resolve(t, db, "edge/corner-cases:v1", "")
	for p, want := range map[string]string{
		"/opt/app/data/a.txt":   "path not in image",
		"/opt/app/loop-a":       "too many levels of symbolic links",
		"/opt/app":              "directory",
		"/opt/app/tmp/app.fifo": "fifo",
		"/opt/app/etc/app.conf": "not a directory",
	} {
		if _, err := Locate(ctx, db, cc, p, -1); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Locate(%s): %v, want an error saying %q", p, err, want)
		}
	}
	// Hidden versions by layer.
	if f, err := Locate(ctx, db, cc, "/opt/app/data/a.txt", 1); err != nil || f.Layer != 1 {
		t.Errorf("a.txt in layer 1: %+v %v", f, err)
	}
	if _, err := Locate(ctx, db, cc, "/opt/app/data/a.txt", 3); !errors.Is(err, ErrNotInImage) {
		t.Errorf("a.txt in layer 3: %v", err)
	}
	// The escape link stays in the image: it resolves to the image's /etc/shadow.
	if f, err := Locate(ctx, db, cc, "/opt/app/escape-link", -1); err != nil || f.Path != "/etc/shadow" {
		t.Errorf("escape-link: %+v %v", f, err)
	}
}
