package imagepkg_test

import (
	"archive/tar"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/imagepkg"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/testlayer"
	"github.com/auditor-dev/auditor/scan"
	"github.com/auditor-dev/auditor/scanners"
)

// scanWithPackages runs scan.Run over target into a new index with the
// packages scanner, and returns the result and the index.
func scanWithPackages(t *testing.T, target string) (*scan.Result, *index.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := index.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pkgs, err := scanners.NewPackages(scanners.PackagesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := crawl.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	res, err := scan.Run(ctx, db, scan.Options{Targets: []crawl.Target{tg}, Crawl: crawl.Options{Scanners: []crawl.LayerScanner{pkgs}}})
	if err != nil {
		t.Fatal(err)
	}
	return res, db
}

// TestTamperedDebian: the fleet's Debian image and one more layer that
// replaces /bin/ls (written through the /bin link, its md5sums line left),
// drops a binary in /usr/sbin, and corrupts one package's md5sums. The scan
// resolves the packages: ls modified, the new binary unowned, the corrupt
// file one error naming the image and the file, the rest as before.
func TestTamperedDebian(t *testing.T) {
	img := fleetDebian(t)
	img, err := mutate.AppendLayers(img, testlayer.Layer(t,
		testlayer.Entry{Name: "bin/ls", Mode: 0o755, Body: "#!/bin/sh\nexec /bin/busybox ls \"$@\"\n"},
		testlayer.Entry{Name: "usr/sbin/sshd-helper", Mode: 0o755, Body: "\x7fELF planted"},
		testlayer.Entry{Name: "var/lib/dpkg/info/hostname.md5sums", Body: "not a digest line\n"},
	))
	if err != nil {
		t.Fatal(err)
	}
	ref := fleettest.Push(t, "tampered", img)
	res, db := scanWithPackages(t, ref.String())
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	im := digest.String()
	if res.Status != index.ScanErrors || len(res.Errors) != 1 || res.PackageImages != 1 {
		t.Fatalf("status %s, %d images resolved, errors %v", res.Status, res.PackageImages, res.Errors)
	}
	if e := res.Errors[0]; e.Reference != im || !strings.Contains(e.Message, "/var/lib/dpkg/info/hostname.md5sums line 1") {
		t.Errorf("error %+v", e)
	}
	r := db.Reader()
	check := func(q, want string) {
		t.Helper()
		if got := strings.Join(rows(t, r, q, im), "\n"); got != want {
			t.Errorf("%s:\n got %q\nwant %q", q, got, want)
		}
	}
	check(`SELECT path || ' ' || status || ' ' || (expected != actual) FROM package_files WHERE image_digest = ? AND recorded_path = '/bin/ls'`, "/usr/bin/ls modified 1")
	check(`SELECT layer_position || ' ' || COALESCE(package, '-') FROM image_files WHERE image_digest = ? AND path = '/usr/bin/ls' AND visible`, "1 coreutils")
	check(`SELECT COALESCE(package, '-') FROM image_files WHERE image_digest = ? AND path = '/usr/sbin/sshd-helper'`, "-")
	// hostname's digests are lost, its list is not; every other package
	// is judged as before.
	check(`SELECT DISTINCT status FROM package_files WHERE image_digest = ? AND path = '/usr/bin/hostname'`, "not-verifiable")
	check(`SELECT count(*) FROM package_files WHERE image_digest = ? AND status = 'modified'`, "1")
	check(`SELECT layer_position FROM packages WHERE image_digest = ? AND name = 'hostname'`, "1")
	check(`SELECT layer_position FROM packages WHERE image_digest = ? AND name = 'coreutils'`, "0")
	var state string
	if err := r.QueryRow(`SELECT version || ' ' || error FROM image_package_state`).Scan(&state); err != nil || !strings.HasPrefix(state, imagepkg.Version+" ") {
		t.Errorf("state %q %v", state, err)
	}

	// Resolved once: a second pass has nothing to do.
	if n, err := imagepkg.Update(context.Background(), db, nil); n != 0 || err != nil {
		t.Errorf("second update: %d images, %v", n, err)
	}
}

// TestTamperedThroughLink: files written through links a lower layer made
// from paths the scan does not hash (opt/tools -> /usr/bin, usr/local/pam
// -> the PAM modules' directory) land on the packages' files. dash and
// pam_unix.so replaced by other content have no md5 of their own, but they
// replaced the files their records met: modified. ls rewritten through the
// link with its own bytes is ok.
func TestTamperedThroughLink(t *testing.T) {
	img := fleetDebian(t)
	ls := fileOf(t, img, "usr/bin/ls")
	img, err := mutate.AppendLayers(img,
		testlayer.Layer(t,
			testlayer.Entry{Name: "opt/tools", Type: tar.TypeSymlink, Link: "/usr/bin"},
			testlayer.Entry{Name: "usr/local/pam", Type: tar.TypeSymlink, Link: "/usr/lib/x86_64-linux-gnu/security"}),
		testlayer.Layer(t,
			testlayer.Entry{Name: "opt/tools/dash", Mode: 0o755, Body: "\x7fELF dash, with a listener"},
			testlayer.Entry{Name: "opt/tools/ls", Mode: 0o755, Body: ls},
			testlayer.Entry{Name: "usr/local/pam/pam_unix.so", Body: "\x7fELF pam_unix, logging passwords"}))
	if err != nil {
		t.Fatal(err)
	}
	ref := fleettest.Push(t, "through-link", img)
	res, db := scanWithPackages(t, ref.String())
	if res.Status != index.ScanOK || res.PackageImages != 1 {
		t.Fatalf("status %s, %d images resolved, errors %v", res.Status, res.PackageImages, res.Errors)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	r := db.Reader()
	q := `SELECT path || ' ' || package || ' ' || algorithm || ' ' || status || ' ' || (actual = expected) || ' ' || (actual = '')
		FROM package_files WHERE image_digest = ? AND path IN (?, ?, ?) ORDER BY path`
	got := strings.Join(rows(t, r, q, digest.String(),
		"/usr/bin/dash", "/usr/bin/ls", "/usr/lib/x86_64-linux-gnu/security/pam_unix.so"), "\n")
	want := "/usr/bin/dash dash md5 modified 0 1\n" +
		"/usr/bin/ls coreutils md5 ok 1 0\n" +
		"/usr/lib/x86_64-linux-gnu/security/pam_unix.so libpam-modules md5 modified 0 1"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if n := rows(t, r, `SELECT count(*) FROM package_files WHERE image_digest = ? AND status = 'modified'`, digest.String()); n[0] != "2" {
		t.Errorf("%s files modified, want dash and pam_unix.so", n[0])
	}
}

// fleetDebian is the fleet's Debian bookworm image.
func fleetDebian(t *testing.T) v1.Image {
	t.Helper()
	base, err := name.NewTag(fleettest.Registry(t) + "/library/debian:bookworm")
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(base)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// fileOf is the content of the regular file name in img's filesystem.
func fileOf(t *testing.T, img v1.Image, name string) string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if h.Name == name && h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}
