package imagepkg_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"

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
