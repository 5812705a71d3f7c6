package queries

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

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
	path := filepath.Join(t.TempDir(), "links.db")
	w, err := index.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	hex := func(c byte) string { return strings.Repeat(string(c), 64) }
	file := func(p string, c byte) auditor.Entry {
		return auditor.Entry{Path: p, Type: auditor.TypeFile, Mode: 0o755, Size: int64(c), SHA256: hex(c), Kind: auditor.KindELF}
	}
	dir := func(p string) auditor.Entry { return auditor.Entry{Path: p, Type: auditor.TypeDir, Mode: 0o755} }
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
	image := func(digest string, ls ...byte) *auditor.Image {
		im := &auditor.Image{Digest: digest, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1,
			Platform: auditor.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}
		for _, l := range ls {
			im.Layers = append(im.Layers, "sha256:"+hex(l))
			im.History = append(im.History, auditor.History{CreatedBy: "ADD"})
		}
		return im
	}
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

func show(rows []FindRow) string {
	s := ""
	for _, r := range rows {
		s += fmt.Sprintf("  %+v\n", r)
	}
	return s
}
