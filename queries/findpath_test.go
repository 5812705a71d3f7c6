package queries

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"

	"github.com/auditor-dev/auditor/internal/indextest"
)

// TestFindPathFast: on the fleet's index, Find of an exact path (the
// SQLite reading of findpath.go) gives the rows find.sql gives through the
// image_files view, in the same order, with every option: for each path
// that is hidden somewhere (deleted, opaque, overwritten, a whiteout's
// marker) or a hardlink, in the most images, and every 40th path of the
// rest. TestFindPathFastLinks has what the fleet lacks.
func TestFindPathFast(t *testing.T) {
	ctx := context.Background()
	db := fleet(t)
	paths := indextest.Strings(t, db, `SELECT path FROM (
		SELECT DISTINCT path FROM image_files WHERE NOT visible OR type = 'hardlink'
		UNION SELECT path FROM (SELECT path, count(DISTINCT image_digest) n FROM image_files GROUP BY path ORDER BY n DESC LIMIT 20)
		UNION SELECT path FROM (SELECT path, row_number() OVER (ORDER BY path) i FROM path_names) WHERE i % 40 = 0)
		ORDER BY path`)
	for _, q := range []struct{ name, sql string }{
		{"hidden", `SELECT count(DISTINCT path) FROM image_files WHERE NOT visible AND hidden_how != 'marker'`},
		{"marker", `SELECT count(DISTINCT path) FROM image_files WHERE hidden_how = 'marker'`},
		{"hardlink", `SELECT count(DISTINCT path) FROM image_files WHERE type = 'hardlink'`},
	} {
		var n int
		if err := db.QueryRowContext(ctx, q.sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("the fleet has no %s path: the comparison would not cover it", q.name)
		}
	}
	if len(paths) < 500 {
		t.Fatalf("%d paths to compare", len(paths))
	}
	if fast := compareFind(t, db, paths); fast != 4*len(paths) {
		t.Errorf("the fast path answered %d of %d lookups", fast, 4*len(paths))
	}
}

// compareFind compares the two ways of finding each path, with each
// option, and returns how many lookups the fast path answered.
func compareFind(t *testing.T, db *sql.DB, paths []string) int {
	t.Helper()
	ctx := context.Background()
	fast := 0
	for _, p := range paths {
		for _, o := range []FindOptions{{}, {VisibleOnly: true}, {HiddenOnly: true}, {Limit: 2}} {
			o.Pattern, o.Exact = p, true
			want, err := findView(ctx, db, FindPlan{Filter: lookPath, Arg: p}, o)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := findPathSQLite(ctx, db, p, o)
			if err != nil {
				t.Fatalf("%q: %v", p, err)
			}
			if !ok {
				continue
			}
			fast++
			for _, r := range [][]FindRow{want, got} {
				for i := range r {
					if len(r[i].Tags) == 0 {
						r[i].Tags = nil
					}
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("find %q %+v: fast path gives\n%s\nfind.sql gives\n%s", p, o, show(got), show(want))
			}
		}
	}
	return fast
}

// TestFindPathFastLinks: the same comparison on an index made for it:
// entries written through a symlinked directory (which take find.sql),
// hardlinks, a whiteout, an opaque directory, the same layer in two
// images of two repositories, an image through an index, and owners with
// hostile package names.
func TestFindPathFastLinks(t *testing.T) {
	ctx := context.Background()
	w, path, must := fxOpen(t, "links.db")
	hex, file, dir := fxHex, fxFile, fxDir
	layers := map[string][]auditor.Entry{
		"sha256:" + hex('1'): {dir("/usr"), dir("/usr/bin"), {Path: "/bin", Type: auditor.TypeSymlink, Linkname: "usr/bin"},
			file("/usr/bin/a", 'a'), dir("/etc"), file("/etc/x", 'b'), {Path: "/etc/y", Type: auditor.TypeHardlink, Linkname: "etc/x", SHA256: hex('b')},
			dir("/opt"), file("/opt/o", 'c'), file("/usr/bin/a", 'd'), file("/opt/o", 'j')},
		"sha256:" + hex('2'): {file("/bin/a", 'e'), file("/bin/b", 'f'), {Path: "/etc/x", Type: auditor.TypeWhiteout},
			{Path: "/opt", Type: auditor.TypeOpaque}, file("/opt/p", 'g'), file("/usr/bin/c", 'h')},
		"sha256:" + hex('3'): {file("/usr/bin/c", 'i'), {Path: "/usr/bin/d", Type: auditor.TypeHardlink, Linkname: "usr/bin/c", SHA256: hex('i')}},
	}
	for d, es := range layers {
		must(w.PutLayer(ctx, &auditor.Layer{Digest: d, Compression: "gzip", Size: 1, UncompressedSize: 1, Entries: es}))
	}
	image := fxImage
	a, b := auditor.Repo{Registry: "r.test", Name: "a"}, auditor.Repo{Registry: "r.test", Name: "b:odd"}
	must(w.PutImage(ctx, a, "", image("sha256:"+hex('7'), '1')))
	must(w.PutImage(ctx, a, "sha256:"+hex('6'), image("sha256:"+hex('8'), '1', '2')))
	must(w.PutImage(ctx, b, "", image("sha256:"+hex('7'), '1')))
	must(w.PutImage(ctx, b, "", image("sha256:"+hex('9'), '1', '3', '2')))
	must(w.PutTag(ctx, a, "v1", "sha256:"+hex('7')))
	must(w.PutTag(ctx, a, "multi", "sha256:"+hex('6')))
	must(w.PutTag(ctx, b, "1:2", "sha256:"+hex('7')))
	must(w.PutTag(ctx, b, "x", "sha256:"+hex('9')))
	must(w.PutPackages(ctx, "sha256:"+hex('7'), "v", &auditor.ImagePackages{Owners: []auditor.PathOwner{
		{Path: "/usr/bin/a", Packages: "a, 3:b"}, {Path: "/etc/y", Packages: "x\n9:y"},
		{Path: "/opt/o", Packages: "o, 3:b"}, {Path: "/etc", Packages: "base"}}}))
	must(w.PutPackages(ctx, "sha256:"+hex('9'), "v", &auditor.ImagePackages{Owners: []auditor.PathOwner{
		{Path: "/usr/bin/d", Packages: "c"}, {Path: "/usr/bin/a", Packages: "a"},
		{Path: "/usr/bin/c", Packages: "c"}, {Path: "/opt/o", Packages: "x"}}}))
	must(w.Close())
	db := open(t, path)
	paths := append(indextest.Strings(t, db, `SELECT path FROM path_names ORDER BY path`), "/nowhere")
	if n := len(indextest.Strings(t, db, `SELECT 1 FROM image_files WHERE written_via IS NOT NULL`)); n == 0 {
		t.Fatal("no entry written through a link")
	}
	// The paths of moved rows: written through a link, or a hardlink's
	// inode (0012) in a layer above.
	moved := len(indextest.Strings(t, db, `SELECT p.path FROM paths p WHERE EXISTS (SELECT 1 FROM moved mv WHERE mv.path_id = p.id)
		OR EXISTS (SELECT 1 FROM entries e JOIN moved mv ON mv.entry_id = e.id WHERE e.path_id = p.id)`))
	if fast := compareFind(t, db, paths); fast != 4*(len(paths)-moved) {
		t.Errorf("the fast path answered %d of %d lookups (%d paths moved)", fast, 4*len(paths), moved)
	}
}

// fxOpen opens a new index named name for writing, and returns it, its
// path and a function failing the test on an error.
func fxOpen(t *testing.T, name string) (*index.DB, string, func(error)) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	w, err := index.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return w, path, func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// fxHex, fxFile, fxDir and fxImage make the entries and images of the
// indexes these tests write: a hash of one repeated hex digit, a file whose
// size is that digit, a directory, an image of the layers named by digits.
func fxHex(c byte) string { return strings.Repeat(string(c), 64) }

func fxFile(p string, c byte) auditor.Entry {
	return auditor.Entry{Path: p, Type: auditor.TypeFile, Mode: 0o755, Size: int64(c), SHA256: fxHex(c), Kind: auditor.KindELF}
}

func fxDir(p string) auditor.Entry { return auditor.Entry{Path: p, Type: auditor.TypeDir, Mode: 0o755} }

func fxImage(digest string, ls ...byte) *auditor.Image {
	im := &auditor.Image{Digest: digest, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1,
		Platform: auditor.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}
	for _, l := range ls {
		im.Layers = append(im.Layers, "sha256:"+fxHex(l))
		im.History = append(im.History, auditor.History{CreatedBy: "ADD"})
	}
	return im
}

// TestFindPathFastFollows: find_images (migration 0026), which the fast
// path reads for each image's repository, tags, platform and owners, follows
// every change of them, by the writer or by any SQL: after each step the
// fast path gives what find.sql gives, and the table is what rebuilding it
// from scratch gives.
func TestFindPathFastFollows(t *testing.T) {
	ctx := context.Background()
	w, path, must := fxOpen(t, "follows.db")
	defer w.Close()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tick := time.Second
	w.Now = func() time.Time { now = now.Add(tick); return now }
	raw, err := sql.Open("sqlite", path)
	must(err)
	defer raw.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := raw.ExecContext(ctx, q, args...)
		must(err)
	}
	for d, es := range map[string][]auditor.Entry{
		"sha256:" + fxHex('1'): {fxDir("/usr"), fxDir("/usr/bin"), fxFile("/usr/bin/a", 'a'), fxDir("/etc"), fxFile("/etc/p", 'b')},
		"sha256:" + fxHex('2'): {fxFile("/usr/bin/a", 'c'), fxFile("/usr/bin/b", 'd'), {Path: "/etc/p", Type: auditor.TypeWhiteout}},
	} {
		must(w.PutLayer(ctx, &auditor.Layer{Digest: d, Compression: "gzip", Size: 1, UncompressedSize: 1, Entries: es}))
	}
	a, b := auditor.Repo{Registry: "r.test", Name: "a"}, auditor.Repo{Registry: "r.test", Name: "b"}
	i1, i2, i3 := "sha256:"+fxHex('7'), "sha256:"+fxHex('8'), "sha256:"+fxHex('9')
	idx, idx2 := "sha256:"+fxHex('5'), "sha256:"+fxHex('6')
	owners := func(ps string) *auditor.ImagePackages {
		return &auditor.ImagePackages{Owners: []auditor.PathOwner{{Path: "/usr/bin/a", Packages: ps}, {Path: "/etc/p", Packages: "base"}}}
	}
	db := w.Reader()
	paths := []string{"/usr/bin/a", "/usr/bin/b", "/etc/p", "/usr", "/nowhere"}
	for _, step := range []struct {
		name string
		do   func()
		raw  bool // by SQL other than the writer's
	}{
		{"indexed and tagged", func() {
			must(w.PutImage(ctx, a, "", fxImage(i1, '1')))
			must(w.PutImage(ctx, a, idx, fxImage(i2, '1', '2')))
			must(w.PutImage(ctx, b, "", fxImage(i1, '1')))
			must(w.PutImage(ctx, b, "", fxImage(i3, '1')))
			must(w.PutTag(ctx, a, "v1", i1))
			must(w.PutTag(ctx, a, "multi", idx))
			must(w.PutTag(ctx, b, "x", i1))
			must(w.PutTag(ctx, b, "y", i3))
		}, false},
		{"tag moved", func() { must(w.PutTag(ctx, a, "v1", i2)) }, false},
		{"tag moved back", func() { must(w.PutTag(ctx, a, "v1", i1)) }, false},
		{"tag seen again", func() { must(w.PutTag(ctx, a, "v1", i1)) }, false},
		{"tag at two digests at once", func() {
			tick = 0
			must(w.PutTag(ctx, b, "t", i1))
			must(w.PutTag(ctx, b, "t", i3))
			tick = time.Second
		}, false},
		{"tie broken", func() { must(w.PutTag(ctx, b, "t", i3)) }, false},
		{"untagged (tag gone)", func() { must(w.TagsListed(ctx, a, []string{"v1"})) }, false},
		{"tag back", func() { must(w.PutTag(ctx, a, "multi", idx)) }, false},
		{"packages resolved", func() { must(w.PutPackages(ctx, i1, "v", owners("a"))) }, false},
		{"packages changed", func() { must(w.PutPackages(ctx, i1, "v2", owners("a, 3:b"))) }, false},
		{"packages shared", func() { must(w.SharePackages(ctx, i3, i1, "v2")) }, false},
		{"linked through another index", func() { must(w.PutImage(ctx, a, idx2, fxImage(i2, '1', '2'))) }, false},
		{"linked to another repository", func() {
			ok, err := w.LinkImage(ctx, b, "", i2)
			must(err)
			if !ok {
				t.Fatal("LinkImage: not linked")
			}
		}, false},
		{"tagged in a scan", func() {
			// A scan's writes leave find_images to FinishScan: find.sql
			// answers until then, and the tags are there.
			id, err := w.BeginScan(ctx, "r.test", "test")
			must(err)
			for _, tag := range []string{"s1", "s2", "s3"} {
				must(w.PutTag(ctx, a, tag, i1))
			}
			if fast := compareFind(t, db, paths); fast != 4 {
				t.Errorf("during a scan, the fast path answered %d lookups with find_images stale", fast)
			}
			rows, err := Find(ctx, db, FindOptions{Pattern: "/usr/bin/a", Exact: true})
			must(err)
			if !slices.ContainsFunc(rows, func(r FindRow) bool { return slices.Contains(r.Tags, "s3") }) {
				t.Errorf("during a scan, find does not show a tag the scan wrote:\n%s", show(rows))
			}
			must(w.FinishScan(ctx, id, index.ScanOK, auditor.ScanStats{}))
		}, false},
		{"unindexed (its layer dropped)", func() { exec(`UPDATE manifests SET indexed_at = NULL WHERE digest = ?`, i3) }, true},
		{"re-indexed", func() {
			exec(`DELETE FROM manifest_layers WHERE manifest_id = (SELECT id FROM manifests WHERE digest = ?)`, i3)
			must(w.PutImage(ctx, b, "", fxImage(i3, '1', '2')))
		}, false},
		{"tag moved by SQL", func() { exec(`UPDATE tag_history SET last_seen = '2027-01-01' WHERE tag = 'v1' AND digest = ?`, i2) }, true},
		{"image removed from a repository", func() {
			exec(`DELETE FROM repo_manifests WHERE manifest_id = (SELECT id FROM manifests WHERE digest = ?)
				AND repository_id = (SELECT id FROM repositories WHERE name = 'b')`, i1)
		}, true},
		{"tag history deleted", func() { exec(`DELETE FROM tag_history WHERE tag = 'y'`) }, true},
		{"packages deleted", func() {
			exec(`DELETE FROM image_package_state WHERE manifest_id = (SELECT id FROM manifests WHERE digest = ?)`, i1)
		}, true},
		{"repository renamed", func() { exec(`UPDATE repositories SET name = 'c' WHERE name = 'b'`) }, true},
		{"image deleted", func() { exec(`DELETE FROM manifests WHERE digest = ?`, i3) }, true},
		{"repository deleted", func() { exec(`DELETE FROM repositories WHERE name = 'c'`) }, true},
	} {
		step.do()
		t.Run(step.name, func(t *testing.T) {
			if step.raw {
				// Stale until the writer's next transaction: the views
				// answer, but for /nowhere (nothing to read).
				if fast := compareFind(t, db, paths); fast != 4 {
					t.Errorf("the fast path answered %d lookups with find_images stale", fast)
				}
				must(w.PutArtifact(ctx, "sha256:"+fxHex('0'), "a write"))
			}
			if fast := compareFind(t, db, paths); fast != 4*len(paths) {
				t.Errorf("the fast path answered %d of %d lookups", fast, 4*len(paths))
			}
			// The table, then the same rebuilt from scratch.
			const rowsSQL = `SELECT registry || ' ' || repository || ' ' || digest || ' ' || repository_id || ' ' || manifest_id || ' ' || packed
				FROM find_images ORDER BY registry, repository, digest`
			kept := indextest.Strings(t, raw, rowsSQL)
			exec(`DELETE FROM find_images`)
			exec(`INSERT INTO find_images_stale SELECT repository_id, manifest_id FROM repo_manifests`)
			must(w.PutArtifact(ctx, "sha256:"+fxHex('0'), "a write"))
			if rebuilt := indextest.Strings(t, raw, rowsSQL); !reflect.DeepEqual(kept, rebuilt) {
				t.Errorf("find_images:\n  %s\nrebuilt:\n  %s", strings.Join(kept, "\n  "), strings.Join(rebuilt, "\n  "))
			}
		})
	}
}

func show(rows []FindRow) string {
	s := ""
	for _, r := range rows {
		s += fmt.Sprintf("  %+v\n", r)
	}
	return s
}
