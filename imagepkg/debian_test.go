package imagepkg_test

import (
	"database/sql"
	"slices"
	"strings"
	"testing"
)

// rows runs a query of one text column.
func rows(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rs, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// imageOf is the digest of a fleet repository's image.
func imageOf(t *testing.T, db *sql.DB, repo string) string {
	t.Helper()
	d := rows(t, db, `SELECT DISTINCT digest FROM images WHERE repository = ?`, repo)
	if len(d) != 1 {
		t.Fatalf("%s: images %v", repo, d)
	}
	return d[0]
}

// TestFleetDebian: the fleet's Debian images get every dpkg package with
// its files, judged through the merged-/usr links, the owner of each
// visible file, and their os-release.
func TestFleetDebian(t *testing.T) {
	db := fleetIndex(t)
	deb := imageOf(t, db, "library/debian")

	// Every package of the status file, each with its files.
	pkgs := rows(t, db, `SELECT name FROM packages WHERE image_digest = ? ORDER BY name`, deb)
	if len(pkgs) < 80 || !slices.Contains(pkgs, "coreutils") || !slices.Contains(pkgs, "libc6") {
		t.Fatalf("%d packages: %v", len(pkgs), pkgs)
	}
	if bare := rows(t, db, `SELECT p.name FROM packages p WHERE p.image_digest = ? AND NOT EXISTS
		(SELECT 1 FROM package_files f WHERE f.image_digest = p.image_digest AND f.package = p.name)`, deb); len(bare) > 0 {
		t.Errorf("packages without files: %v", bare)
	}
	if got := rows(t, db, `SELECT manager || ' ' || version || ' ' || architecture || ' ' || source_name || ' ' || layer_position
		FROM packages WHERE image_digest = ? AND name = 'coreutils'`, deb); len(got) != 1 || got[0] != "dpkg 9.1-1 amd64 coreutils 0" {
		t.Errorf("coreutils: %v", got)
	}
	// dpkg records /bin/ls; the image holds it at /usr/bin/ls.
	if got := rows(t, db, `SELECT path || ' ' || status || ' ' || algorithm || ' ' || (expected = actual) FROM package_files
		WHERE image_digest = ? AND recorded_path = '/bin/ls'`, deb); len(got) != 1 || got[0] != "/usr/bin/ls ok md5 1" {
		t.Errorf("/bin/ls: %v", got)
	}
	// Nothing is modified in the base image; the docs it trimmed (and the apt lists it cleared) without
	// a dpkg path-exclude are missing, as debsums says.
	st := map[string]string{}
	for _, r := range rows(t, db, `SELECT status || ' ' || count(*) FROM package_files WHERE image_digest = ? GROUP BY status`, deb) {
		s, n, _ := strings.Cut(r, " ")
		st[s] = n
	}
	if st["modified"] != "" || st["conffile-modified"] != "" || len(st["ok"]) < 4 {
		t.Errorf("statuses %v", st)
	}
	if got := rows(t, db, `SELECT path FROM package_files WHERE image_digest = ? AND status = 'missing'
		AND path NOT LIKE '/usr/share/doc/%' AND path NOT LIKE '/usr/share/man/%' AND path NOT LIKE '/usr/share/info/%'
		AND path NOT LIKE '/usr/share/locale/%' AND path NOT LIKE '/usr/share/lintian/%'
		AND path NOT LIKE '/var/lib/apt/lists/%' LIMIT 20`, deb); len(got) > 0 {
		t.Errorf("missing outside the trimmed docs: %v", got)
	}

	// Owners in image_files: every regular file of /usr/bin and /usr/lib
	// is dpkg's; the symlink /bin is listed by several packages.
	if got := rows(t, db, `SELECT DISTINCT package FROM image_files WHERE image_digest = ? AND path = '/usr/bin/ls' AND visible`, deb); len(got) != 1 || got[0] != "coreutils" {
		t.Errorf("owner of /usr/bin/ls: %v", got)
	}
	if got := rows(t, db, `SELECT DISTINCT path FROM image_files WHERE image_digest = ? AND visible AND package IS NULL
		AND type = 'file' AND (path LIKE '/usr/bin/%' OR path LIKE '/usr/sbin/%' OR path LIKE '/usr/lib/%')`, deb); len(got) > 0 {
		t.Errorf("unowned system files: %v", got)
	}
	if got := rows(t, db, `SELECT DISTINCT package FROM image_files WHERE image_digest = ? AND path = '/bin'`, deb); len(got) != 1 || !strings.Contains(got[0], "coreutils, ") {
		t.Errorf("owners of /bin: %v", got)
	}
	if got := rows(t, db, `SELECT os_id || ' ' || os_version_id || ' ' || os_pretty_name FROM images WHERE digest = ?`, deb); len(got) == 0 || got[0] != "debian 12 Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("os: %v", got)
	}

	// ops/toolbox: jq and wget unpacked with dpkg -x, outside the status
	// database, are owned by no package; the rest of /usr/bin is.
	tb := imageOf(t, db, "ops/toolbox")
	if got := rows(t, db, `SELECT DISTINCT path FROM image_files WHERE image_digest = ? AND visible AND package IS NULL
		AND type = 'file' AND (path LIKE '/usr/bin/%' OR path LIKE '/usr/sbin/%') ORDER BY path`, tb); strings.Join(got, " ") != "/usr/bin/jq /usr/bin/wget" {
		t.Errorf("toolbox unowned: %v", got)
	}
	if got := rows(t, db, `SELECT count(*) FROM package_files WHERE image_digest = ? AND (package = 'jq' OR package = 'wget')`, tb); got[0] != "0" {
		t.Errorf("toolbox: jq or wget has records: %v", got)
	}

	// The images' own changes: redis's edited conffile, nginx's replaced
	// page, each in the layer that installed the package.
	redis := imageOf(t, db, "apps/redis")
	if got := rows(t, db, `SELECT status FROM package_files WHERE image_digest = ? AND path = '/etc/redis/redis.conf'`, redis); len(got) != 1 || got[0] != "conffile-modified" {
		t.Errorf("redis.conf: %v", got)
	}
	nginx := imageOf(t, db, "apps/nginx")
	if got := rows(t, db, `SELECT f.status || ' ' || p.layer_position FROM package_files f JOIN packages p ON p.image_digest = f.image_digest AND p.name = f.package
		WHERE f.image_digest = ? AND f.path = '/usr/share/nginx/html/index.html'`, nginx); len(got) != 1 || got[0] != "modified 1" {
		t.Errorf("nginx index.html: %v", got)
	}
	if got := rows(t, db, `SELECT count(*) FROM packages WHERE image_digest IN (SELECT digest FROM images WHERE repository LIKE 'tools/busybox')`); got[0] != "0" {
		t.Errorf("busybox packages: %v", got)
	}
}
