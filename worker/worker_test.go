package worker_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/pgtest"
	"github.com/auditor-dev/auditor/internal/viewdump"
	"github.com/auditor-dev/auditor/postgres"
	"github.com/auditor-dev/auditor/rules"
	"github.com/auditor-dev/auditor/scan"
	"github.com/auditor-dev/auditor/scanners"
	"github.com/auditor-dev/auditor/worker"
)

// TestWorkersMatchSQLite scans the fleet with scan.Run into SQLite, and
// with three workers (each its own pool, as on three hosts) sharing one
// scan into PostgreSQL, at one fixed time, with the packages scanner and
// the default pack: every public view is the same, row for row; one
// worker recorded the scan, one planned the registry, one ran the rules,
// and the layers were read once between them.
func TestWorkersMatchSQLite(t *testing.T) {
	ctx := context.Background()
	reg := fleettest.Registry(t)
	tg, err := crawl.ParseTarget(reg)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	now := func() time.Time { return at }
	set, err := rules.NewSet(rules.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	options := func() scan.Options {
		pkgs, err := scanners.NewPackages(scanners.PackagesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		opts := fleettest.Options(t)
		opts.Scanners = []crawl.LayerScanner{pkgs}
		return scan.Options{Targets: []crawl.Target{tg}, Crawl: opts, Version: "test", Rules: set, RuleOptions: rules.RunOptions{Now: now}}
	}

	lite, err := index.Open(ctx, filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	lite.Now = now
	want, err := scan.Run(ctx, lite, options())
	if err != nil {
		t.Fatal(err)
	}

	dsn := pgtest.Database(t)
	var dbs [3]*postgres.DB
	for i := range dbs {
		if dbs[i], err = postgres.Open(ctx, dsn); err != nil {
			t.Fatal(err)
		}
		defer dbs[i].Close()
		dbs[i].Now = now
	}
	var results [3]*worker.Result
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			res, err := worker.Run(ctx, db, worker.Options{Options: options(), Name: string(rune('a' + i)), Lease: 5 * time.Second, Poll: 100 * time.Millisecond})
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var created, planned, finished int
	var layers int64
	var fin *scan.Result
	for _, r := range results {
		if r.ScanID != results[0].ScanID {
			t.Fatalf("workers in different scans: %+v", results)
		}
		if r.Created {
			created++
		}
		planned += len(r.Planned)
		if r.Finished != nil {
			finished++
			fin = r.Finished
		}
		layers += r.Layers
	}
	if created != 1 || planned != 1 || finished != 1 {
		t.Fatalf("%d recorded the scan, %d planned, %d finished; want 1 each", created, planned, finished)
	}
	if fin.Status != want.Status || fin.Rules == nil || fin.Rules.Counts != want.Rules.Counts {
		t.Errorf("shared scan %s, findings %+v; SQLite %s, %+v", fin.Status, fin.Rules, want.Status, want.Rules.Counts)
	}
	if fin.Stats.LayersRead != want.Stats.LayersRead || layers != want.Stats.LayersRead || fin.Stats.Files != want.Stats.Files || fin.Stats.Images != want.Stats.Images {
		t.Errorf("shared scan %+v (layers done by the workers %d); SQLite %+v", fin.Stats, layers, want.Stats)
	}
	views := viewdump.Public(t, lite.Reader())
	// A layer blob two images list with different media types keeps the
	// type of whichever image's read stored it first; config_visible (an
	// internal view) shows content_id, a surrogate key numbered in the order
	// contents were first stored, which concurrent reads decide.
	views["layers"] = slices.DeleteFunc(views["layers"], func(c string) bool { return c == "media_type" })
	views["config_visible"] = slices.DeleteFunc(views["config_visible"], func(c string) bool { return c == "content_id" })
	viewdump.Compare(t, views, lite.Reader(), nil, dbs[0].Reader(), postgres.Bytes)
}
