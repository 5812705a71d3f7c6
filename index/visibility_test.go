package index

import (
	"context"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/indextest"
)

// putStack stores layers (each a list of entries) and an image of them,
// listed in the order positions gives (indexes into layers, so a layer may
// come twice), in a fresh index computing visibility in memory or, with
// byPath, in path order.
func putStack(t *testing.T, byPath bool, layers [][]Entry, positions ...int) *DB {
	t.Helper()
	ctx := context.Background()
	db := openTemp(t)
	if byPath {
		db.OverlayInMemoryMax = -1
	}
	img := &Image{Digest: "sha256:" + strings.Repeat("e", 64), MediaType: "application/vnd.oci.image.manifest.v1+json"}
	for i, es := range layers {
		l := &Layer{Digest: "sha256:" + strings.Repeat(string(rune('a'+i)), 64), Compression: "none", Entries: es}
		if err := db.PutLayer(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range positions {
		img.Layers = append(img.Layers, "sha256:"+strings.Repeat(string(rune('a'+i)), 64))
	}
	if err := db.PutImage(ctx, Repo{Registry: "r", Name: "app"}, "", img); err != nil {
		t.Fatal(err)
	}
	return db
}

// imageFiles lists image_files as "position path type visible how".
func imageFiles(t *testing.T, db *DB) string {
	t.Helper()
	return strings.Join(indextest.Strings(t, db.Reader(), `SELECT layer_position || ' ' || path || ' ' || type || ' ' ||
		visible || ' ' || COALESCE(hidden_by_position || ':' || hidden_how, '-') FROM image_files ORDER BY layer_position, seq`), "\n")
}

// TestRepeatedLayer: a manifest listing one layer twice shows the upper
// copy; the lower one is overwritten by it. The hidden rows were keyed by
// entry, shared by both positions, and the image showed nothing of the
// layer.
func TestRepeatedLayer(t *testing.T) {
	a := []Entry{{Path: "/usr", Type: TypeDir, Mode: 0o755}, {Path: "/usr/bin/implant", Type: TypeFile, Mode: 0o755, SHA256: "aa", Kind: KindELF}}
	b := []Entry{{Path: "/etc", Type: TypeDir, Mode: 0o755}}
	want := strings.Join([]string{
		"0 /usr dir 0 2:overwritten", "0 /usr/bin/implant file 0 2:overwritten",
		"1 /etc dir 1 -",
		"2 /usr dir 1 -", "2 /usr/bin/implant file 1 -",
	}, "\n")
	for _, byPath := range []bool{false, true} {
		db := putStack(t, byPath, [][]Entry{a, b}, 0, 1, 0)
		if got := imageFiles(t, db); got != want {
			t.Errorf("byPath %v: image_files:\n%s\nwant\n%s", byPath, got, want)
		}
	}
}

// TestMigrateHiddenPositions migrates an index whose hidden rows are keyed
// by entry (before 0009): an image without a repeated layer keeps its rows,
// one with a repeated layer has its visibility computed again.
func TestMigrateHiddenPositions(t *testing.T) {
	a := []Entry{{Path: "/x", Type: TypeFile, Mode: 0o644}}
	b := []Entry{{Path: "/x", Type: TypeFile, Mode: 0o644}}
	db := putStack(t, false, [][]Entry{a, b}, 0, 1, 0)
	img2 := &Image{Digest: "sha256:" + strings.Repeat("f", 64), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Layers: []string{"sha256:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("b", 64)}}
	if err := db.PutImage(context.Background(), Repo{Registry: "r", Name: "app"}, "", img2); err != nil {
		t.Fatal(err)
	}
	init, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	oldView := string(init[strings.Index(string(init), "CREATE VIEW image_files"):])
	db = reopenAfter(t, db,
		`CREATE TABLE old_hidden (manifest_id INTEGER NOT NULL, entry_id INTEGER NOT NULL, hidden_by_position INTEGER NOT NULL,
			how INTEGER NOT NULL, PRIMARY KEY (manifest_id, entry_id)) WITHOUT ROWID`,
		// What an older auditor stored: one row per entry, the first hiding.
		`INSERT OR IGNORE INTO old_hidden SELECT manifest_id, entry_id, hidden_by_position, how FROM hidden ORDER BY layer_position`,
		// What 0016 made on top of hidden goes too, and is made again.
		`DROP VIEW accounts`, `DROP VIEW groups`, `DROP VIEW sudo_grants`, `DROP VIEW sshd_effective`, `DROP VIEW ssh_options`,
		`DROP VIEW pam_lines`, `DROP VIEW cron_jobs`, `DROP VIEW unit_directives`, `DROP VIEW hosts_entries`, `DROP VIEW package_sources`,
		`DROP VIEW image_config_rows`, `DROP VIEW image_config_lines`, `DROP VIEW config_file_lines`, `DROP VIEW image_config_files`,
		`DROP VIEW config_visible`, `DROP VIEW config_files`, `DROP TRIGGER layers_drop_configs`,
		// And 0021, whose views read hidden and moved, is applied again.
		`DROP VIEW path_names`, `DROP VIEW image_sizes`, `DROP VIEW tag_changes`, `DROP VIEW open_findings`, `DROP VIEW rule_scopes`,
		`DROP TABLE config_entries`, `DROP TABLE config_parsed`, `DROP TABLE config_lines`, `DROP TABLE config_rows`,
		`DROP VIEW image_files`, `DROP TABLE hidden`, `DROP TABLE moved`, `DROP TABLE visibility_stale`, `ALTER TABLE old_hidden RENAME TO hidden`, oldView,
		`DELETE FROM migrations WHERE name IN ('0009_hidden_positions.sql', '0010_written_via_links.sql', '0012_hardlink_inodes.sql', '0016_config_files.sql', '0021_public_reads.sql')`)
	got := strings.Join(indextest.Strings(t, db.Reader(), `SELECT substr(image_digest, 8, 1) || ' ' || layer_position || ' ' || visible ||
		' ' || COALESCE(hidden_by_position || ':' || hidden_how, '-') FROM image_files ORDER BY 1`), ", ")
	if want := "e 0 0 1:overwritten, e 1 0 2:overwritten, e 2 1 -, f 0 0 1:overwritten, f 1 1 -"; got != want {
		t.Errorf("after migrating: %s, want %s", got, want)
	}
	if n := count(t, db, `SELECT count(*) FROM visibility_stale`); n != 0 {
		t.Errorf("%d images left stale", n)
	}
}

// TestHardlinkInode: image_files shows a hardlink as the file it links:
// its content, mode, owner and size, and its type when that is not a
// regular file, wherever the file is (same layer, lower layer, a chain).
func TestHardlinkInode(t *testing.T) {
	base := []Entry{
		{Path: "/x", Type: TypeFile, Mode: 0o4755, UID: 5, GID: 6, Size: 3, SHA256: strings.Repeat("a", 64), Kind: KindELF},
		{Path: "/s", Type: TypeSymlink, Linkname: "x", Mode: 0o777, Kind: KindNone},
	}
	top := []Entry{
		{Path: "/y", Type: TypeHardlink, Linkname: "x", Mode: 0o755, UID: 1, GID: 1, Kind: KindNone},
		{Path: "/c", Type: TypeHardlink, Linkname: "./y", Mode: 0o644, Kind: KindNone},
		{Path: "/hs", Type: TypeHardlink, Linkname: "s", Mode: 0o644, Kind: KindNone},
		{Path: "/same", Type: TypeFile, Mode: 0o644, Size: 4, SHA256: strings.Repeat("b", 64), Kind: KindOther},
		{Path: "/same2", Type: TypeHardlink, Linkname: "same", Mode: 0o644, Kind: KindNone},
	}
	want := strings.Join([]string{
		"/c hardlink 2541 5:6 3 aaaa elf ./y",
		"/hs symlink 511 0:0 0 - - x",
		"/s symlink 511 0:0 0 - - x",
		"/same file 420 0:0 4 bbbb other -",
		"/same2 hardlink 420 0:0 4 bbbb other same",
		"/x file 2541 5:6 3 aaaa elf -",
		"/y hardlink 2541 5:6 3 aaaa elf x",
	}, "\n")
	for _, byPath := range []bool{false, true} {
		db := putStack(t, byPath, [][]Entry{base, top}, 0, 1)
		got := strings.Join(indextest.Strings(t, db.Reader(), `SELECT path || ' ' || type || ' ' || mode || ' ' || uid || ':' || gid || ' ' ||
			size || ' ' || COALESCE(substr(sha256, 1, 4), '-') || ' ' || COALESCE(kind, '-') || ' ' || COALESCE(linkname, '-')
			FROM image_files WHERE visible ORDER BY path`), "\n")
		if got != want {
			t.Errorf("byPath %v: image_files:\n%s\nwant\n%s", byPath, got, want)
		}
		// Only the hardlinks whose own rows say otherwise have a row.
		if n := count(t, db, `SELECT count(*) FROM moved`); n != 3 {
			t.Errorf("byPath %v: %d moved rows, want 3 (/y, /c, /hs)", byPath, n)
		}
	}
}
