package scanners

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/indextest"
	"github.com/auditor-dev/auditor/pkgdb"
)

func testPackages(t testing.TB, o PackagesOptions) *Packages {
	t.Helper()
	p, err := NewPackages(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPackagesFleetDebian scans the fleet's Debian image without, then with
// the package scanner: the second scan reads its layer once more for it,
// and the index then holds every dpkg database file of the layer, byte for
// byte, and an md5 for each packaged file that dpkg's md5sums agree with.
func TestPackagesFleetDebian(t *testing.T) {
	reg := fleettest.Registry(t)
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "d.db")
	target := reg + "/library/debian:bookworm"
	if err := fleettest.Scan(ctx, dbPath, crawl.Options{Scanners: []crawl.LayerScanner{testMatcher(t)}}, target); err != nil {
		t.Fatal(err)
	}
	if err := fleettest.Scan(ctx, dbPath, crawl.Options{Scanners: []crawl.LayerScanner{testMatcher(t), testPackages(t, PackagesOptions{})}}, target); err != nil {
		t.Fatal(err)
	}
	db, err := index.OpenReadOnly(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows := indextest.Strings(t, db.Reader(), `SELECT path || ' ' || sha256 FROM package_db_files ORDER BY path`)
	files := map[string][]byte{}
	for _, r := range rows {
		p, sum, _ := strings.Cut(r, " ")
		b, err := db.Capture(ctx, sum, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		if s := sha256.Sum256(b); hex.EncodeToString(s[:]) != sum {
			t.Fatalf("%s: captured bytes hash to %x, the file to %s", p, s, sum)
		}
		files[p] = b
	}
	if files["/var/lib/dpkg/status"] == nil || files["/etc/os-release"] == nil && files["/usr/lib/os-release"] == nil {
		t.Fatalf("captured: %v", rows)
	}
	// Every path of the layer a pkgdb database path, captured.
	for _, p := range indextest.Strings(t, db.Reader(), `SELECT path FROM files WHERE type = 'file'`) {
		if pkgdb.IsDatabasePath(p) && files[p] == nil {
			t.Errorf("%s not captured", p)
		}
	}
	ddb, err := pkgdb.ReadDpkg(files, pkgdb.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	md5s := map[string]string{}
	for _, r := range indextest.Strings(t, db.Reader(), `SELECT f.path || ' ' || d.md5 FROM files f JOIN content_digests d ON d.sha256 = f.sha256 WHERE f.type = 'file'`) {
		p, sum, _ := strings.Cut(r, " ")
		md5s[p] = sum
	}
	var agree, differ int
	for _, pk := range ddb.Packages {
		for _, f := range pk.Files {
			got, ok := md5s[f.Path]
			if f.Algorithm != pkgdb.MD5 || !ok {
				continue
			}
			if got == f.Digest {
				agree++
			} else if f.Flags&pkgdb.Conffile == 0 {
				differ++
				t.Errorf("%s of %s: md5 %s, dpkg recorded %s", f.Path, pk.Name, got, f.Digest)
			}
		}
	}
	if agree < 1000 {
		t.Errorf("%d packaged files with an md5 that dpkg agrees with, want the Debian layer's (thousands)", agree)
	}
	if got := indextest.Strings(t, db.Reader(), `SELECT scanner || ' ' || COALESCE(error, 'ok') FROM layer_scans ORDER BY 1`); fmt.Sprint(got) != "[content ok packages ok]" {
		t.Errorf("layer_scans: %v", got)
	}
}

// TestPackagesHostile: package database files that are huge, truncated or
// hold NUL bytes. One over the size cap is the layer's one scanner error,
// naming the file; the others are kept byte for byte (parsing them is the
// package views' business), the layer's files are all indexed, and the
// content patterns still see the layer.
func TestPackagesHostile(t *testing.T) {
	reg := fleettest.Registry(t)
	truncated := "Package: bash\nStatus: install ok installed\nVersion: 5.2-"
	l, err := crane.Layer(map[string][]byte{
		"var/lib/dpkg/status":            []byte(truncated),
		"var/lib/dpkg/info/bash.list":    []byte("/bin/bash\x00\x00\n/etc/bash.bashrc\n"),
		"var/lib/dpkg/info/bash.md5sums": []byte{},
		"lib/apk/db/installed":           []byte(strings.Repeat("P:x\n", 1<<12)),
		"etc/token":                      []byte("ghp_" + strings.Repeat("aB3", 12) + "\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg + "/test/hostile-pkgdb:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "h.db")
	err = fleettest.Scan(ctx, dbPath, crawl.Options{Scanners: []crawl.LayerScanner{testMatcher(t), testPackages(t, PackagesOptions{MaxFileSize: 1 << 10, NoDigests: true})}}, ref.String())
	se, ok := err.(*fleettest.ScanErrors)
	if !ok || len(se.Messages) != 1 || !strings.Contains(se.Messages[0], "scanner packages") || !strings.Contains(se.Messages[0], `"/lib/apk/db/installed" is 16384 bytes, over the 1024 kept`) {
		t.Fatalf("scan: %v", err)
	}
	db, err := index.OpenReadOnly(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := func(sql string) string { return strings.Join(indextest.Strings(t, db.Reader(), sql), ", ") }
	if got := q(`SELECT path FROM package_db_files ORDER BY path`); got != "/var/lib/dpkg/info/bash.list, /var/lib/dpkg/info/bash.md5sums, /var/lib/dpkg/status" {
		t.Errorf("captured: %s", got)
	}
	for p, want := range map[string]string{"/var/lib/dpkg/status": truncated, "/var/lib/dpkg/info/bash.list": "/bin/bash\x00\x00\n/etc/bash.bashrc\n"} {
		sum := q(`SELECT sha256 FROM package_db_files WHERE path = '` + p + `'`)
		if b, err := db.Capture(ctx, sum, 1<<20); err != nil || string(b) != want {
			t.Errorf("%s: captured %q, %v", p, b, err)
		}
	}
	if got := q(`SELECT count(*) FROM files`); got != "5" {
		t.Errorf("%s files indexed, want 5", got)
	}
	if got := q(`SELECT path || ' ' || pattern_id FROM content_matches`); got != "/etc/token github-token" {
		t.Errorf("content matches: %s", got)
	}
	if got := q(`SELECT scanner || ': ' || COALESCE(error, 'ok') FROM layer_scans ORDER BY 1`); !strings.HasPrefix(got, "content: ok, packages: package database files not kept: ") {
		t.Errorf("layer_scans: %s", got)
	}
}

// countingPackages counts the digests its scans are handed (computed by the
// layer reader), to see which files it skipped.
type countingPackages struct {
	*Packages
	n *atomic.Int64
}

func (c countingPackages) NewScan(out crawl.ScanSink) crawl.LayerScan {
	return countingScan{c.Packages.NewScan(out).(crawl.DigestScan), c.n}
}

type countingScan struct {
	crawl.DigestScan
	n *atomic.Int64
}

func (s countingScan) Digests(seq int, p string, d auditor.ContentDigests) error {
	s.n.Add(1)
	return s.DigestScan.Digests(seq, p, d)
}

// TestDigestsOncePerContent: the md5 and sha1 of a package-managed file are
// computed once per content: not for a content the index has them of (an
// earlier scan's layer), nor for one an earlier file of the scan had, but
// for a file too large to wait for its sha256, as it streams; never for a
// file no package database claims. Each content's digests are right.
func TestDigestsOncePerContent(t *testing.T) {
	reg := fleettest.Registry(t)
	ctx := context.Background()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(uint64(seed), 1))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	x, z, y, big := random(1000), random(3000), random(10), random(5<<20)
	push := func(tag string, layers ...map[string][]byte) string {
		img := empty.Image
		for _, files := range layers {
			l, err := crane.Layer(files)
			if err != nil {
				t.Fatal(err)
			}
			if img, err = mutate.AppendLayers(img, l); err != nil {
				t.Fatal(err)
			}
		}
		ref, err := name.ParseReference(reg + "/test/digests:" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		return ref.String()
	}
	first := map[string][]byte{"usr/bin/a": x, "usr/bin/big": big}
	second := map[string][]byte{"usr/lib/b": x, "usr/lib/z1": z, "usr/lib/z2": z, "usr/bin/big2": big, "usr/local/bin/c": y}
	one := push("one", first)
	two := push("two", first, second)
	dbPath := filepath.Join(t.TempDir(), "d.db")
	for _, c := range []struct {
		target string
		want   int64
	}{{one, 2}, {two, 2}} { // a, big; then z1 and big2
		var n atomic.Int64
		scanner := countingPackages{testPackages(t, PackagesOptions{}), &n}
		if err := fleettest.Scan(ctx, dbPath, crawl.Options{Scanners: []crawl.LayerScanner{scanner}}, c.target); err != nil {
			t.Fatal(err)
		}
		if n.Load() != c.want {
			t.Errorf("%s: digests computed for %d files, want %d", c.target, n.Load(), c.want)
		}
	}
	db, err := index.OpenReadOnly(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var want []string
	for _, b := range [][]byte{x, z, big} {
		want = append(want, fmt.Sprintf("%x %x %x", sha256.Sum256(b), md5.Sum(b), sha1.Sum(b)))
	}
	slices.Sort(want)
	got := indextest.Strings(t, db.Reader(), `SELECT sha256 || ' ' || md5 || ' ' || sha1 FROM content_digests ORDER BY 1`)
	if !slices.Equal(got, want) {
		t.Errorf("content_digests:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
