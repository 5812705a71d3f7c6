package index

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "i.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testLayer(digest string, paths ...string) *Layer {
	l := &Layer{Digest: digest, DiffID: "sha256:d" + digest[7:], Compression: "gzip", Size: 10, UncompressedSize: 20}
	for _, p := range paths {
		l.Entries = append(l.Entries, Entry{Path: p, Type: TypeFile, Mode: 0o644, SHA256: "aa" + p, Kind: KindOther})
	}
	return l
}

func count(t *testing.T, db *DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Reader().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrationsAndSchemaVersions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Reopening applies nothing twice.
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := migrationNames()
	if n := count(t, db, `SELECT count(*) FROM migrations`); n != len(names) {
		t.Errorf("%d migrations recorded, %d embedded", n, len(names))
	}
	// A database from a newer auditor is refused, read-write and read-only.
	if _, err := db.w.Exec(`INSERT INTO migrations (name, applied) VALUES ('9999_future.sql', 'x')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(ctx, path); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("Open of a newer schema: %v", err)
	}
	if _, err := OpenReadOnly(ctx, path); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("OpenReadOnly of a newer schema: %v", err)
	}
	// Not a database at all.
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("this is not sqlite, just some text that is long enough to be a header...................................."), 0o644)
	if _, err := Open(ctx, junk); !errors.Is(err, ErrNotIndex) {
		t.Errorf("Open of a text file: %v", err)
	}
	if _, err := OpenReadOnly(ctx, filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Error("OpenReadOnly of a missing file: no error")
	}
}

// TestOpenRefusesForeignDatabase: Open refuses a SQLite database of another
// application, even one with a table called migrations, and leaves it byte
// for byte as it was (no WAL header, no -wal or -shm file); an empty file is
// a new index.
func TestOpenRefusesForeignDatabase(t *testing.T) {
	ctx := context.Background()
	for name, schema := range map[string]string{
		"app":        `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('alice')`,
		"migrations": `CREATE TABLE migrations (id INTEGER PRIMARY KEY, name TEXT, applied TEXT); INSERT INTO migrations (name, applied) VALUES ('20240101_users', 'x'); CREATE TABLE users (id INTEGER)`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "other.db")
			c, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Exec(schema); err != nil {
				t.Fatal(err)
			}
			c.Close()
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if db, err := Open(ctx, path); !errors.Is(err, ErrNotIndex) || !strings.Contains(err.Error(), "another application") {
				if db != nil {
					db.Close()
				}
				t.Errorf("Open of another application's database: %v, want ErrNotIndex", err)
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(before, after) {
				t.Errorf("the refused database changed (%d -> %d bytes, %v)", len(before), len(after), err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("files beside the refused database: %v", ents)
			}
		})
	}
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, empty)
	if err != nil {
		t.Fatalf("Open of an empty file: %v", err)
	}
	db.Close()
	if db, err = Open(ctx, empty); err != nil { // now an index
		t.Fatalf("Open of an index again: %v", err)
	}
	db.Close()
}

func TestPutLayerIdempotentAndContiguous(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	a := testLayer("sha256:a", "/x", "/y", "/shared")
	b := testLayer("sha256:b", "/shared", "/z")
	for _, l := range []*Layer{a, b, a} {
		if err := db.PutLayer(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM files`); n != 5 {
		t.Errorf("%d file rows, want 5 (a layer stored twice must not duplicate)", n)
	}
	if n := count(t, db, `SELECT count(*) FROM paths`); n != 4 {
		t.Errorf("%d paths, want 4 (shared paths interned)", n)
	}
	if n := count(t, db, `SELECT count(*) FROM files WHERE layer_digest = 'sha256:b' AND seq IN (0, 1)`); n != 2 {
		t.Errorf("layer b's entries not numbered 0..1")
	}
	for _, d := range []string{"sha256:a", "sha256:b"} {
		if ok, err := db.HasLayer(ctx, d); !ok || err != nil {
			t.Errorf("HasLayer(%s) = %v, %v", d, ok, err)
		}
	}
	if ok, _ := db.HasLayer(ctx, "sha256:c"); ok {
		t.Error("HasLayer of an unknown layer")
	}
}

func TestPutLayerCancelledStoresNothing(t *testing.T) {
	db := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.PutLayer(ctx, testLayer("sha256:a", "/x")); err == nil {
		t.Fatal("PutLayer with a cancelled context succeeded")
	}
	if n := count(t, db, `SELECT count(*) FROM entries`); n != 0 {
		t.Errorf("%d entries left by a failed PutLayer", n)
	}
	// The caches must not remember ids of the rolled-back transaction.
	if err := db.PutLayer(context.Background(), testLayer("sha256:a", "/x")); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM files WHERE path = '/x' AND sha256 = 'aa/x'`); n != 1 {
		t.Errorf("layer stored after a failed attempt has %d /x rows", n)
	}
}

func TestImagesAndMovedTags(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return clock }
	for _, l := range []*Layer{testLayer("sha256:base", "/etc/motd", "/bin/sh"), testLayer("sha256:top", "/etc/motd")} {
		if err := db.PutLayer(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	repo := Repo{Registry: "r.example.com", Name: "app"}
	img := &Image{Digest: "sha256:img1", MediaType: "application/vnd.oci.image.manifest.v1+json", Layers: []string{"sha256:base", "sha256:top"},
		History: []History{{CreatedBy: "ADD"}, {CreatedBy: "ENV x", EmptyLayer: true}, {CreatedBy: "RUN echo > /etc/motd"}}}
	if err := db.PutImage(ctx, repo, "", img); err != nil {
		t.Fatal(err)
	}
	if err := db.PutTag(ctx, repo, "latest", "sha256:img1"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(24 * time.Hour)
	if err := db.PutTag(ctx, repo, "latest", "sha256:img2"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM tags WHERE tag = 'latest'`); n != 2 {
		t.Errorf("moved tag: %d mappings, want both", n)
	}
	if n := count(t, db, `SELECT count(*) FROM tags WHERE digest = 'sha256:img1' AND last_seen < (SELECT last_seen FROM tags WHERE digest = 'sha256:img2')`); n != 1 {
		t.Error("old mapping's last_seen should predate the new one")
	}
	if n := count(t, db, `SELECT count(*) FROM image_files WHERE path = '/etc/motd' AND visible = 0 AND hidden_how = 'overwritten' AND hidden_by_position = 1`); n != 1 {
		t.Error("base /etc/motd not hidden by the top layer")
	}
	if n := count(t, db, `SELECT count(*) FROM history WHERE layer_position IS NULL AND empty_layer`); n != 1 {
		t.Error("empty_layer history entry mapped to a layer")
	}
	if n := count(t, db, `SELECT layer_position FROM history WHERE position = 2`); n != 1 {
		t.Error("third history entry should map to layer 1")
	}
	// An image whose layer is not indexed is refused, and nothing of it is stored.
	bad := &Image{Digest: "sha256:img3", Layers: []string{"sha256:missing"}}
	if err := db.PutImage(ctx, repo, "", bad); err == nil {
		t.Error("PutImage with a missing layer succeeded")
	}
	if n := count(t, db, `SELECT count(*) FROM manifests WHERE digest = 'sha256:img3'`); n != 0 {
		t.Error("half-stored image")
	}
	// Linking a known image to another repository.
	if ok, err := db.LinkImage(ctx, Repo{Registry: "r.example.com", Name: "mirror"}, "", "sha256:img1"); !ok || err != nil {
		t.Errorf("LinkImage = %v, %v", ok, err)
	}
	if n := count(t, db, `SELECT count(DISTINCT repository) FROM image_files WHERE path = '/bin/sh'`); n != 2 {
		t.Errorf("image_files over %d repositories, want 2", n)
	}
}

func TestScanRecords(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	id, err := db.BeginScan(ctx, "r.example.com", "test")
	if err != nil {
		t.Fatal(err)
	}
	// A second scan finds the first "running" (its process died): interrupted.
	id2, err := db.BeginScan(ctx, "r.example.com", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddScanError(ctx, id2, ScanError{Registry: "r.example.com", Repository: "a", Reference: "v1", Message: "boom"}); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishScan(ctx, id2, ScanErrors, ScanStats{Images: 3, Errors: 1}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM scans WHERE id = ? AND status = 'interrupted'`, id); n != 1 {
		t.Error("stale running scan not marked interrupted")
	}
	if n := count(t, db, `SELECT count(*) FROM scans WHERE id = ? AND status = 'errors' AND images = 3 AND finished IS NOT NULL`, id2); n != 1 {
		t.Error("finished scan not recorded")
	}
	if n := count(t, db, `SELECT count(*) FROM scan_errors WHERE scan_id = ? AND message = 'boom'`, id2); n != 1 {
		t.Error("scan error not recorded")
	}
}

// TestOpenReadOnlyCopy: a copy of an index in another journal mode (VACUUM
// INTO writes one in rollback mode) opens read-only as it is.
func TestOpenReadOnlyCopy(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if err := db.PutLayer(ctx, testLayer("sha256:a", "/x")); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy.db")
	if _, err := db.w.ExecContext(ctx, `VACUUM INTO ?`, cp); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if n := count(t, ro, `SELECT count(*) FROM files`); n != 1 {
		t.Errorf("copy has %d file rows", n)
	}
}

// TestTimeFormatOrder checks that recorded times compare as text in time
// order, also within one second (RFC3339Nano would put 05.1 after 05.12).
func TestTimeFormatOrder(t *testing.T) {
	base := time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)
	times := []time.Time{base, base.Add(100 * time.Millisecond), base.Add(120 * time.Millisecond), base.Add(time.Second), base.Add(time.Second + time.Nanosecond)}
	for i := 1; i < len(times); i++ {
		a, b := times[i-1].Format(TimeFormat), times[i].Format(TimeFormat)
		if a >= b {
			t.Errorf("%s does not sort before %s", a, b)
		}
	}
}
