package imagepkg_test

import (
	"archive/tar"
	"context"
	"fmt"
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
	"github.com/auditor-dev/auditor/internal/pgtest"
	"github.com/auditor-dev/auditor/internal/testlayer"
	"github.com/auditor-dev/auditor/postgres"
	"github.com/auditor-dev/auditor/queries"
	"github.com/auditor-dev/auditor/scan"
	"github.com/auditor-dev/auditor/scanners"
)

// scanWithPackages runs scan.Run over target into a new index with the
// packages scanner, and returns the result and the index.
func scanWithPackages(t *testing.T, target string) (*scan.Result, *index.DB) {
	t.Helper()
	db, err := index.Open(context.Background(), filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return scanInto(t, db, target), db
}

// scanInto runs scan.Run over target into db with the packages scanner.
func scanInto(t *testing.T, db scan.Store, target string) *scan.Result {
	t.Helper()
	ctx := context.Background()
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
	return res
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
// link with its own bytes is ok. The same on SQLite and PostgreSQL (each
// reads the replaced files its own way).
func TestTamperedThroughLink(t *testing.T) {
	ctx := context.Background()
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
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	lite, err := index.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := postgres.Open(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	want := "/usr/bin/dash dash md5 modified actual=false empty=true\n" +
		"/usr/bin/ls coreutils md5 ok actual=true empty=false\n" +
		"/usr/lib/x86_64-linux-gnu/security/pam_unix.so libpam-modules md5 modified actual=false empty=true"
	for _, st := range []struct {
		name string
		db   scan.Store
		q    queries.Querier
	}{{"SQLite", lite, lite.Reader()}, {"PostgreSQL", pg, pg.Querier()}} {
		res := scanInto(t, st.db, ref.String())
		if res.Status != index.ScanOK || res.PackageImages != 1 {
			t.Fatalf("%s: status %s, %d images resolved, errors %v", st.name, res.Status, res.PackageImages, res.Errors)
		}
		rs, err := st.q.QueryContext(ctx, `SELECT path, package, algorithm, status, expected, actual FROM package_files
			WHERE image_digest = ? AND (status = 'modified' OR path = '/usr/bin/ls') ORDER BY path`, digest.String())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rs.Next() {
			var p, pkg, alg, status, expected, actual string
			if err := rs.Scan(&p, &pkg, &alg, &status, &expected, &actual); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %s %s %s actual=%t empty=%t", p, pkg, alg, status, actual == expected, actual == ""))
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		rs.Close()
		if g := strings.Join(got, "\n"); g != want {
			t.Errorf("%s: got\n%s\nwant\n%s", st.name, g, want)
		}
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
