// Package querytest gives the tests of queries and of the analyst commands
// their indexes: a copy of the fleet index made deterministic (fixed
// registry name and scan times, so golden files do not depend on the port
// or the hour), and a small index written through the real index writer
// over two scans at fixed times, with shapes the fleet lacks (the same
// repository in two registries, digests sharing a prefix, a moved tag).
package querytest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
)

// Registry is the registry name of the images in FleetIndex.
const Registry = "fleet.test:5000"

// Seen is the first_seen and last_seen of everything in FleetIndex.
const Seen = "2026-01-01T00:00:00Z"

var (
	fleetOnce sync.Once
	fleetPath string
	fleetErr  error
)

// FleetIndex returns the path of a copy of fleettest.Index with the
// registry renamed to Registry and every scan time set to Seen. Read it,
// do not write it; it is made once per test binary.
func FleetIndex(tb testing.TB) string {
	tb.Helper()
	src := fleettest.Index(tb)
	fleetOnce.Do(func() {
		dir, err := os.MkdirTemp("", "auditor-query-fleet-")
		if err != nil {
			fleetErr = err
			return
		}
		fleetPath = filepath.Join(dir, "fleet.db")
		fleetErr = normalizedCopy(context.Background(), src, fleetPath)
	})
	if fleetErr != nil {
		tb.Fatalf("copying the fleet index: %v", fleetErr)
	}
	return fleetPath
}

// Cleanup removes what FleetIndex made, and the fleet index it copied
// (fleettest.Cleanup); call it from TestMain after m.Run.
func Cleanup() {
	if fleetPath != "" {
		os.RemoveAll(filepath.Dir(fleetPath))
	}
	fleettest.Cleanup()
}

// Copy copies the index at src to dst (a consistent snapshot), in WAL
// mode as index.Open leaves a database (VACUUM INTO does not keep it).
func Copy(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	out, err := sql.Open("sqlite", "file:"+dst)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := out.ExecContext(ctx, `PRAGMA journal_mode = WAL`); err != nil {
		return fmt.Errorf("copy %s: %w", dst, err)
	}
	return nil
}

func normalizedCopy(ctx context.Context, src, dst string) error {
	if err := Copy(ctx, src, dst); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+dst)
	if err != nil {
		return err
	}
	defer db.Close()
	// The test writes the index's private tables here, on its own copy:
	// these are the rows behind the registry and time columns of the views.
	for _, q := range []string{
		`UPDATE repositories SET registry = '` + Registry + `'`,
		`UPDATE repo_manifests SET first_seen = '` + Seen + `', last_seen = '` + Seen + `'`,
		`UPDATE tag_history SET first_seen = '` + Seen + `', last_seen = '` + Seen + `'`,
		`UPDATE scans SET started = '` + Seen + `', finished = '` + Seen + `', targets = '` + Registry + `'`,
		`UPDATE scan_errors SET registry = '` + Registry + `'`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("normalize %s: %s: %w", dst, q, err)
		}
	}
	// Opened for writing, the index rebuilds what these made stale in its
	// own tables (find_images).
	w, err := index.Open(ctx, dst)
	if err != nil {
		return err
	}
	return w.Close()
}

// Digest makes a sha256 digest from a short hex prefix, padded with a
// filler digit.
func Digest(prefix string, fill byte) string {
	return "sha256:" + prefix + strings.Repeat(string(fill), 64-len(prefix))
}

// Times of the two scans of SmallIndex.
var (
	Scan1 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	Scan2 = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
)

// The images of SmallIndex.
var (
	// ImageA is a.test/app:1.0 (and :latest until scan 2).
	ImageA = Digest("abcd1", '1')
	// ImageB is b.test/app:1.0: another registry, same repository name,
	// a digest sharing ImageA's first 4 hex digits.
	ImageB = Digest("abcd2", '2')
	// ImageC is a.test/app:2.0 and :latest, pushed in scan 2.
	ImageC = Digest("c0ffee", '3')

	LayerBase  = Digest("ba5e", '4')
	LayerOther = Digest("0be7", '5')
	LayerNew   = Digest("9e11", '6')
)

// SmallIndex writes, through the real index writer, two scans:
//
//	scan 1: a.test/app:1.0 and :latest -> ImageA (LayerBase),
//	        b.test/app:1.0 -> ImageB (LayerBase, LayerOther);
//	scan 2: a.test/app:2.0 and :latest -> ImageC (LayerBase, LayerNew),
//	        LayerNew adding /usr/bin/miner, replacing /etc/passwd and
//	        deleting /etc/motd; a.test/app:1.0 seen again.
//
// It returns the database path.
func SmallIndex(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "small.db")
	db, err := index.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	now := Scan1
	db.Now = func() time.Time { now = now.Add(time.Second); return now }
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	file := func(p, sum string, size int64) auditor.Entry {
		return auditor.Entry{Path: p, Type: auditor.TypeFile, Mode: 0o644, Size: size, SHA256: sum, Kind: auditor.KindOther, ModTime: Scan1}
	}
	dir := func(p string) auditor.Entry {
		return auditor.Entry{Path: p, Type: auditor.TypeDir, Mode: 0o755, Kind: auditor.KindNone, ModTime: Scan1}
	}
	hex := func(c byte) string { return strings.Repeat(string(c), 64) }
	amd64 := auditor.Platform{OS: "linux", Architecture: "amd64"}
	image := func(digest string, layers ...string) *auditor.Image {
		return &auditor.Image{Digest: digest, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 500,
			ConfigDigest: Digest("cf", digest[7]), Platform: amd64, Created: Scan1, Layers: layers,
			History: []auditor.History{{CreatedBy: "ADD rootfs.tar /"}, {CreatedBy: "RUN install", EmptyLayer: len(layers) < 2}}}
	}
	repoA := auditor.Repo{Registry: "a.test", Name: "app"}
	repoB := auditor.Repo{Registry: "b.test", Name: "app"}

	id, err := db.BeginScan(ctx, "a.test b.test", "test")
	must(err)
	must(db.PutLayer(ctx, &auditor.Layer{Digest: LayerBase, Compression: "gzip", Size: 100, UncompressedSize: 1000, Entries: []auditor.Entry{
		dir("/etc"), file("/etc/passwd", hex('a'), 10), file("/etc/motd", hex('b'), 20),
		dir("/bin"), {Path: "/bin/sh", Type: auditor.TypeFile, Mode: 0o755, Size: 30, SHA256: hex('c'), Kind: auditor.KindELF, ModTime: Scan1},
	}}))
	must(db.PutLayer(ctx, &auditor.Layer{Digest: LayerOther, Compression: "gzip", Size: 50, UncompressedSize: 500, Entries: []auditor.Entry{
		dir("/opt"), file("/opt/tool", hex('d'), 40),
	}}))
	for _, tag := range []string{"1.0", "latest"} {
		must(db.PutTag(ctx, repoA, tag, ImageA))
	}
	must(db.PutImage(ctx, repoA, "", image(ImageA, LayerBase)))
	must(db.PutTag(ctx, repoB, "1.0", ImageB))
	must(db.PutImage(ctx, repoB, "", image(ImageB, LayerBase, LayerOther)))
	must(db.FinishScan(ctx, id, index.ScanOK, auditor.ScanStats{Images: 2}))

	now = Scan2
	id, err = db.BeginScan(ctx, "a.test", "test")
	must(err)
	must(db.PutLayer(ctx, &auditor.Layer{Digest: LayerNew, Compression: "zstd", Size: 70, UncompressedSize: 700, Entries: []auditor.Entry{
		dir("/usr"), dir("/usr/bin"), {Path: "/usr/bin/miner", Type: auditor.TypeFile, Mode: 0o4755, Size: 50, SHA256: hex('e'), Kind: auditor.KindELF, ModTime: Scan2},
		file("/etc/passwd", hex('f'), 12), {Path: "/etc/motd", Type: auditor.TypeWhiteout, Kind: auditor.KindNone},
	}}))
	for _, tag := range []string{"2.0", "latest"} {
		must(db.PutTag(ctx, repoA, tag, ImageC))
	}
	must(db.PutImage(ctx, repoA, "", image(ImageC, LayerBase, LayerNew)))
	must(db.PutTag(ctx, repoA, "1.0", ImageA))
	if ok, err := db.LinkImage(ctx, repoA, "", ImageA); err != nil || !ok {
		tb.Fatalf("link %s: %v %v", ImageA, ok, err)
	}
	must(db.FinishScan(ctx, id, index.ScanOK, auditor.ScanStats{Images: 2}))
	return path
}

// Exec runs statements on the database at path, for tests that shape a
// copy of an index (a newer schema, a corrupted hash).
func Exec(tb testing.TB, path string, stmts ...string) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
}
