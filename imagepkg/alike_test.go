package imagepkg_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
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

// sharing is an index that counts the results Update shares.
type sharing struct {
	*index.DB
	shared []string // image <- like
}

func (s *sharing) SharePackages(ctx context.Context, image, like, version string) error {
	s.shared = append(s.shared, image+" <- "+like)
	return s.DB.SharePackages(ctx, image, like, version)
}

// kept is everything the index keeps of an image's packages, one line a row.
func kept(t *testing.T, db *sql.DB, image string) string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT * FROM packages WHERE image_digest = ?`,
		`SELECT * FROM package_files WHERE image_digest = ?`,
		`SELECT path, layer_position, package FROM image_files WHERE image_digest = ? AND package IS NOT NULL`,
		`SELECT os_id, os_version_id, os_pretty_name FROM images WHERE digest = ?`,
		`SELECT s.version, s.error FROM image_package_state s JOIN manifests m ON m.id = s.manifest_id WHERE m.digest = ?`,
	} {
		rs, err := db.Query(q, image)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		var lines []string
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%v", vals))
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		rs.Close()
		slices.Sort(lines)
		out = append(out, strings.Join(lines, "\n"))
	}
	return strings.Join(out, "\n--\n")
}

// TestImagesResolvedAlike: Update gives an image the result of an image
// resolved before it when both have the same database files and hold the
// same at every path the first one's resolution looked at, and resolves it
// on its own otherwise. Images on the fleet's Debian: a layer of files no
// package claims (shared), one that replaces a packaged file through the
// /bin link, one that deletes one, one that turns a directory on the path
// of packaged files into a link, one that adds an md5sums line (each
// resolved on its own); every image's kept rows equal those of the image
// resolved alone.
func TestImagesResolvedAlike(t *testing.T) {
	ctx := context.Background()
	base, err := name.NewTag(fleettest.Registry(t) + "/library/debian:bookworm")
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(base)
	if err != nil {
		t.Fatal(err)
	}
	variants := []struct {
		name   string
		shared bool
		ents   []testlayer.Entry
	}{
		{"app", true, []testlayer.Entry{{Name: "srv/app/run", Mode: 0o755, Body: "#!/bin/sh\n"}, {Name: "usr/share/app-data/a.txt", Body: "a"}}},
		{"app2", true, []testlayer.Entry{{Name: "srv/app/run", Mode: 0o755, Body: "#!/bin/sh\necho 2\n"}}},
		{"replaced", false, []testlayer.Entry{{Name: "bin/ls", Mode: 0o755, Body: "#!/bin/sh\nexec busybox ls\n"}}},
		{"deleted", false, []testlayer.Entry{{Name: "usr/bin/.wh.hostname"}}},
		{"relinked", false, []testlayer.Entry{{Name: "usr/share/doc", Type: 2, Link: "/tmp"}}},
		{"database", false, []testlayer.Entry{{Name: "var/lib/dpkg/info/hostname.md5sums",
			Body: "00000000000000000000000000000000  bin/hostname\n"}}},
	}
	targets := []crawl.Target{}
	digests := map[string]string{}
	for _, v := range variants {
		im, err := mutate.AppendLayers(img, testlayer.Layer(t, v.ents...))
		if err != nil {
			t.Fatal(err)
		}
		ref := fleettest.Push(t, "alike-"+v.name, im)
		tg, err := crawl.ParseTarget(ref.String())
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, tg)
		d, err := im.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests[v.name] = d.String()
	}
	baseDigest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	tg, err := crawl.ParseTarget(fleettest.Push(t, "alike-base", img).String())
	if err != nil {
		t.Fatal(err)
	}
	targets = append(targets, tg)

	path := filepath.Join(t.TempDir(), "index.db")
	db, err := index.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pkgs, err := scanners.NewPackages(scanners.PackagesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scan.Run(ctx, db, scan.Options{Targets: targets, Crawl: crawl.Options{Scanners: []crawl.LayerScanner{pkgs}}}); err != nil {
		t.Fatal(err)
	}
	// Resolved again, on the counting store.
	w, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Exec(`UPDATE image_package_state SET version = 'older'`); err != nil {
		t.Fatal(err)
	}
	st := &sharing{DB: db}
	if n, err := imagepkg.Update(ctx, st, nil); err != nil || n != len(variants)+1 {
		t.Fatalf("update: %d images, %v", n, err)
	}
	// Which image is resolved first is the store's order: every one of
	// the alike ones but one is shared, and only those are.
	alike := map[string]bool{baseDigest.String(): true}
	for _, v := range variants {
		if v.shared {
			alike[digests[v.name]] = true
		}
	}
	if len(st.shared) != len(alike)-1 {
		t.Errorf("shared %v, want %d of the images %v", st.shared, len(alike)-1, alike)
	}
	for _, s := range st.shared {
		im, like, _ := strings.Cut(s, " <- ")
		if !alike[im] || !alike[like] {
			t.Errorf("shared %s, not one of %v", s, alike)
		}
	}
	r := db.Reader()
	for _, im := range append(slices.Collect(maps.Values(digests)), baseDigest.String()) {
		got := kept(t, r, im)
		res, err := imagepkg.Resolve(ctx, db, im)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutPackages(ctx, im, imagepkg.Version, res); err != nil {
			t.Fatal(err)
		}
		if want := kept(t, r, im); got != want {
			t.Errorf("%s: kept after Update differs from its own resolution:\n%.2000s\nwant\n%.2000s", im, got, want)
		}
	}
	if got := rows(t, r, `SELECT status FROM package_files WHERE image_digest = ? AND path = '/usr/bin/ls'`, digests["replaced"]); !slices.Equal(got, []string{"modified"}) {
		t.Errorf("replaced: /usr/bin/ls %v", got)
	}
}
