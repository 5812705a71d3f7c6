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
)

// TestFleetViewsMatchSQLite scans the real shared fleet with scan.Run into
// the SQLite index and into PostgreSQL, both at one fixed time, and
// compares every public view row for row, byte for byte: the same crawl
// through either store gives the same index. A scan into PostgreSQL with
// rules is refused before anything is recorded.
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

	if _, err := scan.Run(ctx, pg, scan.Options{Targets: []crawl.Target{tg}, Crawl: fleettest.Options(t), Rules: &rules.Set{}}); err != scan.ErrNoRulesStore {
		t.Fatalf("a scan into PostgreSQL with rules: %v, want ErrNoRulesStore", err)
	}
	var n int
	if err := pg.Reader().QueryRowContext(ctx, `SELECT count(*) FROM scans`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after the refused scan: %d scans recorded (%v), want 0", n, err)
	}

	var status [2]string
	for i, db := range []scan.Store{lite, pg} {
		res, err := scan.Run(ctx, db, scan.Options{Targets: []crawl.Target{tg}, Crawl: fleettest.Options(t), Version: "test"})
		if err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
		if res.Stats.Images == 0 || res.Stats.Files == 0 {
			t.Fatalf("scan %d: %+v: nothing scanned", i, res.Stats)
		}
		status[i] = res.Status
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
	for _, v := range []string{"image_files", "image_sizes", "path_names", "tags", "images", "history"} {
		rows, err := viewdump.Dump(ctx, pg.Reader(), v, views[v], postgres.Bytes)
		if err != nil || len(rows) == 0 {
			t.Errorf("view %s: %d rows, %v", v, len(rows), err)
		}
	}
}
