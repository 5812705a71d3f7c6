package imagepkg_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/imagepkg"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/scanners"
)

// The SQLite index is a Store.
var _ imagepkg.Store = (*index.DB)(nil)

var (
	fleetOnce sync.Once
	fleetDir  string
	fleetErr  error
	fleetN    int
)

// fleetIndex scans the shared fleet into an index of its own and resolves
// every image's packages (once per test binary); read it, do not write it.
func fleetIndex(t *testing.T) *sql.DB {
	t.Helper()
	reg := fleettest.Registry(t)
	opts := fleettest.Options(t)
	pkgs, err := scanners.NewPackages(scanners.PackagesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts.Scanners = []crawl.LayerScanner{pkgs}
	fleetOnce.Do(func() {
		if fleetDir, fleetErr = os.MkdirTemp("", "auditor-imagepkg-"); fleetErr != nil {
			return
		}
		p := filepath.Join(fleetDir, "fleet.db")
		if fleetErr = fleettest.Scan(context.Background(), p, opts, reg); fleetErr != nil {
			return
		}
		var db *index.DB
		if db, fleetErr = index.Open(context.Background(), p); fleetErr != nil {
			return
		}
		defer db.Close()
		fleetN, fleetErr = imagepkg.Update(context.Background(), db, func(image string, err error) {
			fleetErr = err
		})
	})
	if fleetErr != nil {
		t.Fatal(fleetErr)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(fleetDir, "fleet.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fleetDir != "" {
		os.RemoveAll(fleetDir)
	}
	os.Exit(code)
}

// TestCachedViewsMatch: while Update runs, the index reads each image's
// merged view from its layers' entries kept in memory (CacheLayers); for
// every image of the fleet (hardlinks, moved entries, whiteouts, opaque
// directories, the same layer under many images) that gives the rows the
// image_files view gives as visible, with the digests of the files each
// replaced.
func TestCachedViewsMatch(t *testing.T) {
	ctx := context.Background()
	fleetIndex(t)
	db, err := index.OpenReadOnly(ctx, filepath.Join(fleetDir, "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	images, err := db.PackagesPending(ctx, "no such version")
	if err != nil {
		t.Fatal(err)
	}
	if len(images) < 10 {
		t.Fatalf("%d images in the fleet index", len(images))
	}
	rows := func(fs []auditor.VisibleFile) []string {
		out := make([]string, len(fs))
		for i, f := range fs {
			out[i] = fmt.Sprintf("%q %d %q %s %s %s %v", f.Path, f.Type, f.LinkTarget, f.SHA256, f.MD5, f.SHA1, f.Replaced)
		}
		slices.Sort(out)
		return out
	}
	var plain [][]string
	replacing := 0 // visible files that replaced files with digests
	for _, im := range images {
		fs, err := db.VisibleFiles(ctx, im)
		if err != nil {
			t.Fatal(err)
		}
		plain = append(plain, rows(fs))
		for _, f := range fs {
			if len(f.Replaced) > 0 {
				replacing++
			}
		}
	}
	if replacing == 0 {
		t.Error("no visible file replaced one with digests: the fleet's upgrades are not seen")
	}
	done := db.CacheLayers()
	defer done()
	for round := range 2 { // the second from the cache only
		for i, im := range images {
			fs, err := db.VisibleFiles(ctx, im)
			if err != nil {
				t.Fatal(err)
			}
			if got := rows(fs); !slices.Equal(got, plain[i]) {
				t.Errorf("round %d, %s: %d rows cached, %d from the view; first cached %.200q, first viewed %.200q",
					round, im, len(got), len(plain[i]), got[:min(1, len(got))], plain[i][:min(1, len(plain[i]))])
			}
		}
	}
}
