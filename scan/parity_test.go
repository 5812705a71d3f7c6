package scan_test

import (
	"context"
	"path/filepath"
	"slices"
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
)

// TestFleetViewsMatchSQLite scans the real shared fleet with scan.Run into
// the SQLite index and into PostgreSQL, both at one fixed time, and
// compares every public view row for row, byte for byte: the same crawl
// through either store gives the same index, and the same packages
// resolved from it (the packages scanner on: packages, package_files,
// image_files.package, images.os_*; the Debian image's dpkg packages with
// their files on both), and the default pack's findings the same.
func TestFleetViewsMatchSQLite(t *testing.T) {
	ctx := context.Background()
	reg := fleettest.Registry(t)
	tg, err := crawl.ParseTarget(reg)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	now := func() time.Time { return at }
	lite, err := index.Open(ctx, filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	lite.Now = now
	pg, err := postgres.Open(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	pg.Now = now

	// The default pack runs after each scan: the same findings on both
	// (compared with the findings, open_findings, rule_runs, rule_scopes,
	// fleet_images and file_history views below).
	set, err := rules.NewSet(rules.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var status [2]string
	var findings [2]index.FindingCounts
	for i, db := range []scan.Store{lite, pg} {
		pkgs, err := scanners.NewPackages(scanners.PackagesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		opts := fleettest.Options(t)
		opts.Scanners = []crawl.LayerScanner{pkgs}
		res, err := scan.Run(ctx, db, scan.Options{Targets: []crawl.Target{tg}, Crawl: opts, Version: "test",
			Rules: set, RuleOptions: rules.RunOptions{Now: now}})
		if err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
		if res.Stats.Images == 0 || res.Stats.Files == 0 || int64(res.PackageImages) != res.Stats.Images {
			t.Fatalf("scan %d: %+v, packages of %d images: nothing scanned or resolved", i, res.Stats, res.PackageImages)
		}
		if res.Rules == nil || res.Rules.Err() != nil || res.Rules.Counts.Findings == 0 {
			t.Fatalf("scan %d: rules %+v: none ran, one failed, or no finding", i, res.Rules)
		}
		status[i] = res.Status
		findings[i] = res.Rules.Counts
	}
	if findings[0] != findings[1] {
		t.Errorf("findings: SQLite %+v, PostgreSQL %+v", findings[0], findings[1])
	}
	if status[0] != status[1] {
		t.Errorf("status: SQLite %s, PostgreSQL %s", status[0], status[1])
	}
	views := viewdump.Public(t, lite.Reader())
	// A layer blob two images list with different media types keeps the
	// type of whichever image's crawl stored it first, on either store:
	// the order of concurrent layer reads decides, not the store.
	views["layers"] = slices.DeleteFunc(views["layers"], func(c string) bool { return c == "media_type" })
	viewdump.Compare(t, views, lite.Reader(), nil, pg.Reader(), postgres.Bytes)
	for _, v := range []string{"image_files", "image_sizes", "path_names", "tags", "images", "history", "packages", "package_files", "package_db_files",
		"findings", "open_findings", "rule_runs", "rule_scopes", "fleet_images", "file_history"} {
		rows, err := viewdump.Dump(ctx, pg.Reader(), v, views[v], postgres.Bytes)
		if err != nil || len(rows) == 0 {
			t.Errorf("view %s: %d rows, %v", v, len(rows), err)
		}
	}
	// The Debian image: its dpkg packages, each with its files, owners and
	// os-release, on PostgreSQL (and so, compared above, on SQLite).
	var pkgs, files, bare, owned int
	var osID string
	err = pg.Reader().QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM packages p WHERE p.image_digest = i.digest AND p.manager = 'dpkg'),
		(SELECT count(*) FROM package_files f WHERE f.image_digest = i.digest AND f.status = 'ok'),
		(SELECT count(*) FROM packages p WHERE p.image_digest = i.digest AND NOT EXISTS
			(SELECT 1 FROM package_files f WHERE f.image_digest = p.image_digest AND f.package = p.name)),
		(SELECT count(*) FROM image_files f WHERE f.image_digest = i.digest AND f.path = '/usr/bin/ls' AND f.package = 'coreutils'),
		COALESCE(i.os_id, '')
		FROM images i WHERE i.repository = 'library/debian' LIMIT 1`).Scan(&pkgs, &files, &bare, &owned, &osID)
	if err != nil || pkgs < 80 || files < 2000 || bare != 0 || owned != 1 || osID != "debian" {
		t.Errorf("library/debian on PostgreSQL: %d dpkg packages, %d files ok, %d packages without files, /usr/bin/ls owned by coreutils %d, os %q (%v)",
			pkgs, files, bare, owned, osID, err)
	}
}
