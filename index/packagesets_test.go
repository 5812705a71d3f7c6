package index

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/internal/indextest"
)

// The public rows the package tables give, in one order.
const (
	packageFilesQ = `SELECT image_digest || ' ' || package || ' ' || path || ' ' || recorded_path || ' ' || algorithm || ' ' ||
		expected || ' ' || actual || ' ' || status FROM package_files ORDER BY 1`
	ownersQ = `SELECT image_digest || ' ' || path || ' ' || layer_position || ' ' || COALESCE(package, '-') FROM image_files ORDER BY 1`
)

// TestMigratePackageSets migrates an index written by the schema before
// 0023, three images with their package records and owners (two of them
// the same rows, inserted in another order): package_files and
// image_files.package give the same rows after, and the two images share
// their sets.
func TestMigratePackageSets(t *testing.T) {
	ctx := context.Background()
	path, raw, exec := migratedBefore(t, "0023")
	exec(`INSERT INTO repositories (id, registry, name) VALUES (1, 'r', 'app')`)
	exec(`INSERT INTO layers (id, digest, compression, size, uncompressed_size, entries, first_entry, last_entry, reader_version, indexed_at)
		VALUES (1, 'sha256:l', 'gzip', 1, 1, 3, 1, 3, ?, 't0')`, ReaderVersion)
	exec(`INSERT INTO paths (id, path) VALUES (1, '/usr/bin/ls'), (2, '/etc/x.conf'), (3, '/usr/bin/odd
name')`)
	exec(`INSERT INTO entries (id, layer_id, path_id, type, mode, uid, gid, size) VALUES
		(1, 1, 1, 0, 493, 0, 0, 10), (2, 1, 2, 0, 420, 0, 0, 5), (3, 1, 3, 0, 420, 0, 0, 5)`)
	for id := 1; id <= 3; id++ {
		exec(`INSERT INTO manifests (id, digest, media_type, indexed_at) VALUES (?, 'sha256:i' || ?, 'm', 't0')`, id, id)
		exec(`INSERT INTO repo_manifests (repository_id, manifest_id, first_seen, last_seen) VALUES (1, ?, 't0', 't0')`, id)
		exec(`INSERT INTO manifest_layers (manifest_id, position, layer_id) VALUES (?, 0, 1)`, id)
		exec(`INSERT INTO image_package_state (manifest_id, version, computed_at) VALUES (?, 'v1', 't1')`, id)
	}
	files := []string{
		`('coreutils', '/usr/bin/ls', '/bin/ls', 'md5', 'aa', 'aa', 'ok')`,
		`('base-files', '/etc/x.conf', '/etc/x.conf', 'md5', 'bb', 'cc', 'conffile-modified')`,
		`('base-files', '/etc/gone', '/etc/gone', 'md5', 'dd', '', 'missing')`,
		`('odd', '/usr/bin/odd
name', '/usr/bin/odd
name', '', '', '', 'not-verifiable')`,
	}
	insertFiles := func(id int, rows ...string) {
		for _, r := range rows {
			exec(`INSERT INTO image_package_files (manifest_id, package, path, recorded_path, algorithm, expected, actual, status)
				SELECT ?, * FROM (VALUES `+r+`)`, id)
		}
	}
	insertFiles(1, files...)
	insertFiles(2, files[3], files[1], files[0], files[2])
	insertFiles(3, files[0], `('base-files', '/etc/x.conf', '/etc/x.conf', 'md5', 'bb', 'bb', 'ok')`)
	exec(`INSERT INTO image_file_owners (manifest_id, path, packages) VALUES
		(1, '/usr/bin/ls', 'coreutils'), (1, '/etc/x.conf', 'base-files, other'),
		(2, '/etc/x.conf', 'base-files, other'), (2, '/usr/bin/ls', 'coreutils'),
		(3, '/usr/bin/ls', 'coreutils')`)
	wantFiles := indextest.Strings(t, raw, packageFilesQ)
	wantOwners := indextest.Strings(t, raw, ownersQ)
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := indextest.Strings(t, db.r, packageFilesQ); strings.Join(got, "\n") != strings.Join(wantFiles, "\n") || len(got) != 10 {
		t.Errorf("package_files after migrating:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantFiles, "\n"))
	}
	if got := indextest.Strings(t, db.r, ownersQ); strings.Join(got, "\n") != strings.Join(wantOwners, "\n") {
		t.Errorf("image_files.package after migrating:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantOwners, "\n"))
	}
	if got := strings.Join(indextest.Strings(t, db.r, `SELECT (SELECT count(*) FROM package_sets) || ' ' ||
		(SELECT count(DISTINCT files_set) || ' ' || count(DISTINCT owners_set) FROM image_package_state) || ' ' ||
		(SELECT count(*) FROM package_set_files) || ' ' || (SELECT count(*) FROM package_set_owners)`), ""); got != "4 2 2 6 3" {
		t.Errorf("sets, files sets, owner sets, their rows: %s, want 4 2 2 6 3 (images 1 and 2 sharing)", got)
	}
	if n := count(t, db, `SELECT count(*) FROM sqlite_master WHERE name IN ('image_package_files', 'image_file_owners')`); n != 0 {
		t.Errorf("%d of the old tables left", n)
	}

	// Resolving image 3 again to image 1's rows shares image 1's sets and
	// deletes the sets no image names any more.
	r := &auditor.ImagePackages{Files: []auditor.PackageFile{
		{Package: "odd", Path: "/usr/bin/odd\nname", RecordedPath: "/usr/bin/odd\nname", Status: "not-verifiable"},
		{Package: "base-files", Path: "/etc/gone", RecordedPath: "/etc/gone", Algorithm: "md5", Expected: "dd", Status: "missing"},
		{Package: "base-files", Path: "/etc/x.conf", RecordedPath: "/etc/x.conf", Algorithm: "md5", Expected: "bb", Actual: "cc", Status: "conffile-modified"},
		{Package: "coreutils", Path: "/usr/bin/ls", RecordedPath: "/bin/ls", Algorithm: "md5", Expected: "aa", Actual: "aa", Status: "ok"},
	}, Owners: []auditor.PathOwner{{Path: "/usr/bin/ls", Packages: "coreutils"}, {Path: "/etc/x.conf", Packages: "base-files, other"}}}
	if err := db.PutPackages(ctx, "sha256:i3", "v1", r); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(indextest.Strings(t, db.r, `SELECT (SELECT count(*) FROM package_sets) || ' ' ||
		(SELECT count(DISTINCT files_set) || ' ' || count(DISTINCT owners_set) FROM image_package_state) || ' ' ||
		(SELECT count(*) FROM package_set_files) || ' ' || (SELECT count(*) FROM package_set_owners)`), ""); got != "2 1 1 4 2" {
		t.Errorf("after image 3 resolved as image 1: %s, want 2 1 1 4 2", got)
	}
	same := `SELECT package || path || recorded_path || algorithm || expected || actual || status FROM package_files WHERE image_digest = ? ORDER BY 1`
	if a, b := indextest.Strings(t, db.r, same, "sha256:i1"), indextest.Strings(t, db.r, same, "sha256:i3"); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("image 3's rows %q, image 1's %q", b, a)
	}
	// No rows at all: no sets, and image 3's old ones are kept by image 1.
	if err := db.PutPackages(ctx, "sha256:i3", "v1", &auditor.ImagePackages{}); err != nil {
		t.Fatal(err)
	}
	var fs, os sql.NullInt64
	if err := db.r.QueryRow(`SELECT files_set, owners_set FROM image_package_state s JOIN manifests m ON m.id = s.manifest_id
		WHERE m.digest = 'sha256:i3'`).Scan(&fs, &os); err != nil || fs.Valid || os.Valid {
		t.Errorf("image without rows: sets %v %v, %v", fs, os, err)
	}
	if n := count(t, db, `SELECT count(*) FROM package_files WHERE image_digest = 'sha256:i1'`); n != 4 {
		t.Errorf("image 1 has %d package_files rows after image 3 left its sets, want 4", n)
	}
}
