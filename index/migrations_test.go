package index

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/internal/indextest"
)

// TestMigrationsPinned fails when a migration listed in
// testdata/migrations.sha256 changes: indexes that applied it would never
// see the change. A new migration is added to the list (with its sha256).
func TestMigrationsPinned(t *testing.T) {
	pinned, err := os.ReadFile(filepath.Join("testdata", "migrations.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(pinned)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("testdata/migrations.sha256: bad line %q", line)
		}
		want[name] = sum
	}
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimPrefix(name, "migrations/")
		sum := sha256.Sum256(body)
		switch pin, ok := want[base]; {
		case !ok:
			t.Errorf("migration %s is not pinned: add %q to testdata/migrations.sha256", base, hex.EncodeToString(sum[:])+"  "+base)
		case pin != hex.EncodeToString(sum[:]):
			t.Errorf("migration %s changed after it was pinned: add a new migration instead", base)
		}
		delete(want, base)
	}
	for name := range want {
		t.Errorf("pinned migration %s is gone", name)
	}
}

// TestMigrateFromRuleScopesMissing opens an index that applied 0002_findings
// before rule_image_evals and rule_scope were added to it: the next
// migration creates them.
func TestMigrateFromRuleScopesMissing(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	db = reopenAfter(t, db, `DROP TABLE rule_image_evals`, `DROP TABLE rule_scope`, `DELETE FROM migrations WHERE name = '0005_rule_scopes.sql'`)
	if _, err := db.PrepareScopes(ctx, []RuleEval{{RuleID: "r", Version: "1", Scoped: true}}, false); err != nil {
		t.Fatalf("after migrating: %v", err)
	}
}

// TestMigrateTagEvents migrates an index written before tag_events: each
// mapping becomes an event when first seen, and a tag moved back to an
// earlier digest gets an event for it when last seen.
func TestMigrateTagEvents(t *testing.T) {
	ctx := context.Background()
	path, raw, exec := migratedBefore(t, "0006") // before tags could be gone, and tag_events
	exec(`INSERT INTO repositories (id, registry, name) VALUES (1, 'r', 'app')`)
	// latest: d1 at t1, d2 at t2, d1 again at t3 (which only refreshed d1's row).
	exec(`INSERT INTO tag_history (repository_id, tag, digest, first_seen, last_seen) VALUES
		(1, 'latest', 'sha256:d1', 't1', 't3'), (1, 'latest', 'sha256:d2', 't2', 't2'), (1, 'v1', 'sha256:d2', 't2', 't3')`)
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := strings.Join(indextest.Strings(t, db.w, `SELECT tag || ' ' || at || ' ' || digest FROM tag_events ORDER BY tag, at`), ", ")
	if want := "latest t1 sha256:d1, latest t2 sha256:d2, latest t3 sha256:d1, v1 t2 sha256:d2, v1 t3 sha256:d2"; got != want {
		t.Errorf("tag_events after migrating: %s, want %s", got, want)
	}
	if got := strings.Join(indextest.Strings(t, db.w, `SELECT tag || '=' || digest FROM tags WHERE current ORDER BY tag`), " "); got != "latest=sha256:d1 v1=sha256:d2" {
		t.Errorf("current tags after migrating: %s", got)
	}
}

// migratedBefore creates an index with the migrations before the one named
// first applied, and returns its path, the open database and a function
// that runs statements on it (failing the test on an error).
func migratedBefore(t *testing.T, first string) (string, *sql.DB, func(q string, args ...any)) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)`)
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		if base >= first {
			break
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO migrations (name, applied) VALUES (?, 'then')`, base)
	}
	return path, raw, exec
}

// TestMigrateContentChecks: the content patterns' version of each layer
// becomes the layer's row for the scanner "content", so an index scanned
// before per-layer scanners existed reads no layer again for its content.
func TestMigrateContentChecks(t *testing.T) {
	ctx := context.Background()
	path, raw, exec := migratedBefore(t, "0011")
	exec(`INSERT INTO layers (id, digest, compression, size, uncompressed_size, entries, first_entry, last_entry, reader_version, indexed_at)
		VALUES (1, 'sha256:a', 'gzip', 1, 1, 0, 1, 0, ?, 't0'), (2, 'sha256:b', 'gzip', 1, 1, 0, 1, 0, ?, 't0')`, ReaderVersion, ReaderVersion)
	exec(`INSERT INTO content_checks (layer_id, version, checked_at) VALUES (1, 'v1', 't1')`)
	raw.Close()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetScanners([]ScannerVersion{{Name: ContentScanner, Version: "v1"}})
	for digest, want := range map[string]bool{"sha256:a": true, "sha256:b": false} {
		if got, err := db.HasLayer(ctx, digest); err != nil || got != want {
			t.Errorf("HasLayer(%s) = %v, %v after migrating; want %v", digest, got, err, want)
		}
	}
	if got := strings.Join(indextest.Strings(t, db.r, `SELECT layer_digest || ' ' || scanner || ' ' || version || ' ' || scanned_at FROM layer_scans`), ", "); got != "sha256:a content v1 t1" {
		t.Errorf("layer_scans after migrating: %s", got)
	}
}

// TestMigrateTagEventsAgain: an index that already has tag_events (a
// development build created it in 0006) keeps its events when 0007 runs.
func TestMigrateTagEventsAgain(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "dev.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) }
	if err := db.PutTag(ctx, Repo{Registry: "r", Name: "app"}, "latest", "sha256:d1"); err != nil {
		t.Fatal(err)
	}
	// Seeding again would add an event at this first_seen.
	db = reopenAfter(t, db, `UPDATE tag_history SET first_seen = '2026-10-01T00:00:00.000000000Z'`,
		`DELETE FROM migrations WHERE name = '0007_tag_events.sql'`)
	got := strings.Join(indextest.Strings(t, db.w, `SELECT at || ' ' || digest FROM tag_events`), ", ")
	if want := "2026-11-01T00:00:00.000000000Z sha256:d1"; got != want {
		t.Errorf("tag_events after 0007 ran again: %s, want %s", got, want)
	}
}

// reopenAfter runs stmts on db's writer (to make it look like an index an
// older auditor left), closes it and opens it again, migrating it; the
// reopened index is closed when the test ends.
func reopenAfter(t *testing.T, db *DB, stmts ...string) *DB {
	t.Helper()
	ctx := context.Background()
	for _, q := range stmts {
		if _, err := db.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	path := db.Path()
	db.Close()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestMigrateFindImages: an index from before 0026 gets find_images built
// by the migration, as the writer keeps it.
func TestMigrateFindImages(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.PutLayer(ctx, testLayer("sha256:base", "/bin/sh", "/etc/passwd")))
	a, b := Repo{Registry: "r", Name: "a"}, Repo{Registry: "r", Name: "b"}
	for i, repo := range []Repo{a, a, b} {
		im := &Image{Digest: fmt.Sprintf("sha256:img%d", i%2), MediaType: "application/vnd.oci.image.manifest.v1+json",
			Layers: []string{"sha256:base"}, Platform: Platform{OS: "linux", Architecture: "amd64"}}
		must(db.PutImage(ctx, repo, map[bool]string{true: "sha256:idx"}[i == 1], im))
		must(db.PutTag(ctx, repo, fmt.Sprintf("t%d", i), map[bool]string{true: "sha256:idx", false: im.Digest}[i == 1]))
	}
	const rows = `SELECT registry || ' ' || repository || ' ' || digest || ' ' || packed FROM find_images ORDER BY 1`
	want := indextest.Strings(t, db.w, rows)
	if len(want) != 3 {
		t.Fatalf("find_images: %q", want)
	}
	drop := []string{`DELETE FROM migrations WHERE name = '` + findImagesMigration + `'`, `DROP INDEX repo_manifests_index`}
	for _, tr := range indextest.Strings(t, db.w, `SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'find_images%'`) {
		drop = append(drop, `DROP TRIGGER `+tr)
	}
	for _, tb := range []string{"find_images", "find_images_stale", "find_images_stale_tags"} {
		drop = append(drop, `DROP TABLE `+tb)
	}
	db = reopenAfter(t, db, drop...)
	if got := indextest.Strings(t, db.w, rows); !slices.Equal(got, want) {
		t.Errorf("find_images after migrating:\n%q\nwant\n%q", got, want)
	}
	if n := count(t, db, `SELECT (SELECT count(*) FROM find_images_stale) + (SELECT count(*) FROM find_images_stale_tags)`); n != 0 {
		t.Errorf("%d marks left", n)
	}
}
