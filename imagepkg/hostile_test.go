package imagepkg_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/testlayer"
	"github.com/auditor-dev/auditor/pkgdb"
	"github.com/auditor-dev/auditor/scan"
	"github.com/auditor-dev/auditor/scanners"
)

// TestHostileDatabases scans, through scan.Run with the packages scanner at
// its defaults, images whose second layer holds one hostile package
// database (huge, a line over the limit, a malformed stanza, a NUL byte, a
// truncated md5sums, a BerkeleyDB whose overflow pages loop, an NDB file
// whose slot page is bad, an NDB file holding a garbage rpm header) beside a
// marker binary and an os-release; the first layer holds a sound apk
// database. Each scan ends, within a bound, with status errors and exactly
// one error, which names the image (or its tag), the hostile layer and the
// file with what is wrong; the hostile layer's files are indexed all the
// same, the sound database is resolved and the os-release read.
func TestHostileDatabases(t *testing.T) {
	busybox := "\x7fELF busybox"
	base := testlayer.Layer(t,
		testlayer.Entry{Name: "bin/", Type: tar.TypeDir},
		testlayer.Entry{Name: "bin/busybox", Mode: 0o755, Body: busybox},
		testlayer.Entry{Name: "lib/apk/db/installed", Body: fmt.Sprintf("P:busybox\nV:1.36.1-r2\nA:x86_64\nF:bin\nR:busybox\nZ:%s\n", apkSum(busybox))},
	)
	const status = "/var/lib/dpkg/status"
	sound := "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n"
	le := binary.LittleEndian
	// One 700-byte header in 512-byte pages: overflow pages 2 and 3; page
	// 3's next made page 2 is a loop.
	const ps = 512
	loop := pkgdb.BDBFile([][]byte{bytes.Repeat([]byte{0x8e}, 700)}, ps)
	le.PutUint32(loop[3*ps+16:], 2)
	badSlots := pkgdb.NDBFile([][]byte{bytes.Repeat([]byte{0x8e}, 700)})
	copy(badSlots[4096-16:], "XXXX")

	for _, c := range []struct {
		name  string
		files map[string]string
		want  []string // in the error, beside the layer's digest
	}{
		{"huge", map[string]string{status: strings.Repeat("Package: a\n\n", scanners.DefaultMaxDatabaseFile/12+1)},
			[]string{": scanner packages ", `"` + status + `" is`, "over the"}},
		{"line over the limit", map[string]string{status: "Package: a\nDescription: " + strings.Repeat("x", 70<<10) + "\n"},
			[]string{status + " line 2", "limit"}},
		{"malformed stanza", map[string]string{status: " orphan\nPackage: a\n"}, []string{status + " line 1: continuation"}},
		{"NUL byte", map[string]string{status: "Package: a\nVersion: 1\x00\n"}, []string{status + " line 2: NUL byte"}},
		{"truncated md5sums", map[string]string{status: sound, "/var/lib/dpkg/info/a.list": "/usr/bin/marker\n",
			"/var/lib/dpkg/info/a.md5sums": "0123456789abcdef0123456789abcdef  usr/bin/marker\n0123456789ab"},
			[]string{"/var/lib/dpkg/info/a.md5sums line 2"}},
		{"BerkeleyDB pages loop", map[string]string{"/var/lib/rpm/Packages": string(loop)},
			[]string{"/var/lib/rpm/Packages: BerkeleyDB: ", "pages loop"}},
		{"NDB bad slot page", map[string]string{"/usr/lib/sysimage/rpm/Packages.db": string(badSlots)},
			[]string{"/usr/lib/sysimage/rpm/Packages.db: NDB: ", "bad slot magic"}},
		{"NDB garbage header", map[string]string{"/usr/lib/sysimage/rpm/Packages.db": string(pkgdb.NDBFile([][]byte{bytes.Repeat([]byte{0xff}, 64)}))},
			[]string{"/usr/lib/sysimage/rpm/Packages.db: header 1: "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ents := []testlayer.Entry{
				{Name: "etc/os-release", Body: "ID=hostile\nVERSION_ID=1\n"},
				{Name: "usr/bin/marker", Mode: 0o755, Body: "\x7fELF marker"},
			}
			for p, body := range c.files {
				ents = append(ents, testlayer.Entry{Name: strings.TrimPrefix(p, "/"), Body: body})
			}
			hostile := testlayer.Layer(t, ents...)
			img, err := mutate.AppendLayers(empty.Image, base, hostile)
			if err != nil {
				t.Fatal(err)
			}
			ref := fleettest.Push(t, "hostile", img)
			d, _ := img.Digest()
			hd, _ := hostile.Digest()
			im, layer := d.String(), hd.String()

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			db, err := index.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			pkgs, err := scanners.NewPackages(scanners.PackagesOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tg, err := crawl.ParseTarget(ref.String())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res, err := scan.Run(ctx, db, scan.Options{Targets: []crawl.Target{tg}, Crawl: crawl.Options{Scanners: []crawl.LayerScanner{pkgs}}})
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("the scan took %s", took)
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != index.ScanErrors || len(res.Errors) != 1 || res.PackageImages != 1 || res.Stats.Errors != 1 {
				t.Fatalf("status %s, %d images resolved, %d errors: %v", res.Status, res.PackageImages, res.Stats.Errors, res.Errors)
			}
			e := res.Errors[0]
			shown := scan.DescribeError(e)
			if e.LayerDigest != layer || !strings.Contains(shown, "layer "+layer+": ") ||
				!strings.Contains(shown, im) && !strings.Contains(shown, ref.RepositoryStr()+":v1") {
				t.Errorf("error %q (layer %s), want the image %s or its tag, the layer %s", shown, e.LayerDigest, im, layer)
			}
			for _, w := range c.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("error %q, want %q in it", e.Message, w)
				}
			}
			r := db.Reader()
			check := func(q, want string) {
				t.Helper()
				if got := strings.Join(rows(t, r, q, im), "\n"); got != want {
					t.Errorf("%s:\n got %q\nwant %q", q, got, want)
				}
			}
			// The hostile layer's files are indexed, the sound database is
			// resolved, the os-release read.
			check(`SELECT layer_position || ' ' || COALESCE(sha256, '-') FROM image_files WHERE image_digest = ? AND path = '/usr/bin/marker' AND visible`,
				fmt.Sprintf("1 %x", sha256.Sum256([]byte("\x7fELF marker"))))
			check(`SELECT count(*) FROM image_files WHERE image_digest = ? AND layer_position = 1`, fmt.Sprint(len(ents)))
			check(`SELECT package || ' ' || path || ' ' || status FROM package_files WHERE image_digest = ? AND path = '/bin/busybox'`, "busybox /bin/busybox ok")
			check(`SELECT os_id FROM images WHERE digest = ?`, "hostile")
		})
	}
}
