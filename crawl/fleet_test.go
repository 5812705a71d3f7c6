package crawl_test

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fleettest.Cleanup()
	os.Exit(code)
}

// fleetDB opens the shared scan of the fleet registry read-only.
func fleetDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := index.OpenReadOnly(context.Background(), fleettest.Index(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.Reader()
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = v.String
			if !v.Valid {
				parts[i] = "NULL"
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func queryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestFleetTagsAndPlatforms(t *testing.T) {
	db := fleetDB(t)
	reg := fleettest.Registry(t)
	for _, tag := range fleettest.Tags(t) {
		got := queryStrings(t, db, `SELECT digest FROM tags WHERE registry = ? AND repository = ? AND tag = ?`, reg, tag.Repository, tag.Tag)
		if len(got) != 1 || got[0] != tag.Digest {
			t.Errorf("tag %s:%s -> %v, want %s", tag.Repository, tag.Tag, got, tag.Digest)
		}
		// Every tag's manifest, or every platform of its index, is an image of the repository.
		n := queryInt(t, db, `SELECT count(*) FROM images WHERE repository = ?1 AND (digest = ?2 OR index_digest = ?2)`, tag.Repository, tag.Digest)
		if n == 0 {
			t.Errorf("tag %s:%s: no image indexed for %s", tag.Repository, tag.Tag, tag.Digest)
		}
	}
	// Multi-arch: both the OCI index and the Docker manifest list give amd64 and arm64/v8.
	for _, idx := range []string{
		"sha256:1ff233cff4e6849c19591633bfc38577e69bbd1c755a9998a1e0c2f1d226a1c9",
		"sha256:a57137d8f92ae6a57e8ab2609c3d522e7aba493d7c1386da8fb073bd05526795",
	} {
		got := queryStrings(t, db, `SELECT os, architecture, COALESCE(variant, '') FROM images WHERE index_digest = ? ORDER BY architecture`, idx)
		want := []string{"linux|amd64|", "linux|arm64|v8"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("index %s platforms = %v, want %v", idx, got, want)
		}
	}
	// Media types: Docker v2s2 and OCI, including OCI manifests without a mediaType field.
	mt := queryStrings(t, db, `SELECT DISTINCT media_type FROM images ORDER BY 1`)
	want := "application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json"
	if strings.Join(mt, ",") != want {
		t.Errorf("image media types %v, want %s", mt, want)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM scan_errors`); n != 0 {
		t.Errorf("%d scan errors on the clean fleet: %v", n, queryStrings(t, db, `SELECT repository, reference, message FROM scan_errors`))
	}
}

func TestFleetLayerEntryCounts(t *testing.T) {
	db := fleetDB(t)
	want := fleettest.LayerEntries(t)
	for prefix, n := range want {
		got := queryStrings(t, db, `SELECT entries, (SELECT count(*) FROM files WHERE layer_digest = layers.digest) FROM layers WHERE digest LIKE ?`, "sha256:"+prefix+"%")
		if len(got) != 1 {
			t.Errorf("layer %s: %d rows in layers", prefix, len(got))
			continue
		}
		if w := strings.Repeat(strconv.Itoa(n)+"|", 2); got[0]+"|" != w {
			t.Errorf("layer %s: entries|file rows = %s, MANIFEST.md says %d", prefix, got[0], n)
		}
	}
	// One blob, two media types: each image shows its manifest's.
	mts := queryStrings(t, db, `SELECT DISTINCT il.media_type FROM image_layers il JOIN images i ON i.digest = il.image_digest
		WHERE il.layer_digest LIKE 'sha256:1660d00e467f%' AND i.repository IN ('library/debian', 'mirror/debian') ORDER BY 1`)
	if strings.Join(mts, ",") != "application/vnd.docker.image.rootfs.diff.tar.gzip,application/vnd.oci.image.layer.v1.tar+gzip" {
		t.Errorf("base layer media types per image: %v", mts)
	}
	comp := queryStrings(t, db, `SELECT substr(digest, 8, 12), compression FROM layers WHERE substr(digest, 8, 12) IN ('2ab9a4a6cc4c', '2ee16fabc225', 'c79fbf49537e', 'b9588ed2d30d', '1660d00e467f') ORDER BY 1`)
	wantComp := "1660d00e467f|gzip,2ab9a4a6cc4c|zstd,2ee16fabc225|none,b9588ed2d30d|none,c79fbf49537e|zstd"
	if strings.Join(comp, ",") != wantComp {
		t.Errorf("compression %v, want %s", comp, wantComp)
	}
}

// TestFleetFileHashes checks the index against an independent read of the
// blobs: every regular file's sha256 equals the hash of its bytes, for a gzip,
// a zstd and an uncompressed layer.
func TestFleetFileHashes(t *testing.T) {
	db := fleetDB(t)
	reg := fleettest.Registry(t)
	for _, tc := range []struct{ repo, prefix string }{
		{"library/debian", "1660d00e467f"},
		{"corp/billing-worker", "c79fbf49537e"},
		{"corp/billing-worker", "b9588ed2d30d"},
		{"tools/busybox", "2ab9a4a6cc4c"},
	} {
		digest := queryStrings(t, db, `SELECT digest FROM layers WHERE digest LIKE ?`, "sha256:"+tc.prefix+"%")
		if len(digest) != 1 {
			t.Fatalf("layer %s not indexed", tc.prefix)
		}
		ref, err := name.NewDigest(reg + "/" + tc.repo + "@" + digest[0])
		if err != nil {
			t.Fatal(err)
		}
		l, err := remote.Layer(ref)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		indexed := map[string]string{} // tar name -> sha256 in the index
		for _, row := range queryStrings(t, db, `SELECT COALESCE(raw_name, substr(path, 2)), sha256 FROM files WHERE layer_digest = ? AND type = 'file'`, digest[0]) {
			name, sum, _ := strings.Cut(row, "|")
			indexed[name] = sum
		}
		tr := tar.NewReader(rc)
		checked := 0
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			s := sha256.New()
			if _, err := io.Copy(s, tr); err != nil {
				t.Fatal(err)
			}
			want := hex.EncodeToString(s.Sum(nil))
			if got, ok := indexed[h.Name]; !ok || got != want {
				t.Errorf("layer %s file %q: sha256 %q, want %s", tc.prefix, h.Name, got, want)
			}
			checked++
		}
		rc.Close()
		if checked == 0 {
			t.Errorf("layer %s: no regular file checked", tc.prefix)
		}
	}
}

func TestFleetFileMetadata(t *testing.T) {
	db := fleetDB(t)
	base := "sha256:1660d00e467f%"
	checks := []struct {
		name, q string
		args    []any
		want    string
	}{
		{"setuid su", `SELECT printf('%o', mode), uid, gid, type, kind FROM files WHERE layer_digest LIKE ? AND path = '/usr/bin/su'`, []any{base}, "4755|0|0|file|elf"},
		{"setgid chage", `SELECT printf('%o', mode), gid FROM files WHERE layer_digest LIKE ? AND path = '/usr/bin/chage'`, []any{base}, "2755|42"},
		{"setuid count", `SELECT count(*) FROM files WHERE layer_digest LIKE ? AND type = 'file' AND mode & 2048`, []any{base}, "8"},
		{"setgid count", `SELECT count(*) FROM files WHERE layer_digest LIKE ? AND type = 'file' AND mode & 1024`, []any{base}, "3"},
		{"hardlink carries its target's hash", `SELECT count(*) FROM files h JOIN files f ON f.layer_digest = h.layer_digest AND f.path = '/' || h.linkname
			WHERE h.layer_digest LIKE ? AND h.type = 'hardlink' AND h.sha256 = f.sha256 AND f.type = 'file'`, []any{base}, "2"},
		{"busybox applets are hardlinks of busybox", `SELECT count(*), count(DISTINCT sha256) FROM files WHERE layer_digest LIKE 'sha256:a4181562f870%' AND type = 'hardlink'`, nil, "268|1"},
		{"merged-usr symlink", `SELECT type, linkname FROM files WHERE layer_digest LIKE ? AND path = '/bin'`, []any{base}, "symlink|usr/bin"},
		{"file capability", `SELECT capabilities FROM files WHERE path = '/opt/app/bin/bind-helper'`, nil, "cap_net_bind_service=ep"},
		{"setuid non-root", `SELECT printf('%o', mode), uid, gid FROM files WHERE path = '/opt/app/bin/suid-sgid-nonroot'`, nil, "6755|1000|1000"},
		{"char device", `SELECT type, linkname FROM files WHERE path = '/opt/app/tmp/null-copy'`, nil, "char|1:3"},
		{"fifo", `SELECT type FROM files WHERE path = '/opt/app/tmp/app.fifo'`, nil, "fifo"},
		{"unknown owner", `SELECT uid, gid FROM files WHERE path = '/opt/app/data/owned-by-unknown-uid'`, nil, "123456|654321"},
		{"utf-8 name", `SELECT count(*) FROM files WHERE path = '/opt/app/data/ünïcødé-文件.txt'`, nil, "1"},
		{"gnu tar ./ names kept raw", `SELECT raw_name FROM files WHERE path = '/opt/app/data/fresh.txt'`, nil, "./opt/app/data/fresh.txt"},
		{"zero-entry layer", `SELECT entries FROM layers WHERE digest LIKE 'sha256:b2a030ee5786%'`, nil, "0"},
		{"shell script kind", `SELECT kind FROM files WHERE path = '/usr/local/bin/hello'`, nil, "script"},
	}
	for _, c := range checks {
		got := queryStrings(t, db, c.q, c.args...)
		if strings.Join(got, ",") != c.want {
			t.Errorf("%s: got %v, want %s", c.name, got, c.want)
		}
	}
}

// TestFleetCornerCasesVisibility checks the final filesystem of
// edge/corner-cases:v1 (see MANIFEST.md): whiteouts, the opaque directory,
// file<->directory replacement and mode-only changes.
func TestFleetCornerCasesVisibility(t *testing.T) {
	db := fleetDB(t)
	const img = "sha256:88c14a36a620ca9b1d777038f61d7320c95dc620d7580a12329ba981fce8eafd"
	q := `SELECT layer_position, type, visible, COALESCE(hidden_by_position, ''), COALESCE(hidden_how, '')
		FROM image_files WHERE image_digest = ? AND repository = 'edge/corner-cases' AND path = ? ORDER BY layer_position, seq`
	want := map[string][]string{
		"/etc/motd":                       {"0|file|0|2|deleted", "2|whiteout|0|2|marker"},
		"/usr/share/doc/apt":              {"0|dir|0|2|deleted", "2|whiteout|0|2|marker"},
		"/usr/share/doc/apt/copyright":    {"0|file|0|2|deleted"},
		"/opt/app/data/a.txt":             {"1|file|0|2|deleted", "2|whiteout|0|2|marker"},
		"/opt/app/data/b.txt":             {"1|file|0|2|overwritten", "2|file|0|3|opaque"},
		"/opt/app/data/keep/c.txt":        {"1|file|0|2|overwritten", "2|file|0|3|opaque"},
		"/opt/app/data/fresh.txt":         {"3|file|1||"},
		"/opt/app/data":                   {"1|dir|0|2|overwritten", "2|dir|0|3|overwritten", "3|dir|1||", "3|opaque|0|3|marker"},
		"/opt/app/config":                 {"1|file|0|2|overwritten", "2|dir|1||"},
		"/opt/app/config/app.yaml":        {"2|file|1||"},
		"/opt/app/etc":                    {"1|dir|0|2|overwritten", "2|file|1||"},
		"/opt/app/etc/app.conf":           {"1|file|0|2|deleted", "2|whiteout|0|2|marker"},
		"/opt/app/current":                {"1|symlink|0|2|overwritten", "2|symlink|1||"},
		"/opt/app/bin/suid-helper":        {"1|file|1||"},
		"/opt/app/data/tool-hardlink2":    {"1|hardlink|0|3|opaque"},
		"/opt/app/bin/tool-hardlink":      {"1|hardlink|1||"},
		"/usr/bin/bash":                   {"0|file|1||"},
		"/opt/app/data/empty-file":        {"1|file|0|3|opaque"},
		"/opt/app/releases/1.0/README.md": nil, // not in the image at all
	}
	for p, w := range want {
		got := queryStrings(t, db, q, img, p)
		if strings.Join(got, ",") != strings.Join(w, ",") {
			t.Errorf("%s: got %v, want %v", p, got, w)
		}
	}
	// Final view of /opt/app/data: only fresh.txt (and the directory).
	vis := queryStrings(t, db, `SELECT path FROM image_files WHERE image_digest = ? AND repository = 'edge/corner-cases'
		AND visible AND path GLOB '/opt/app/data/*' ORDER BY path`, img)
	if strings.Join(vis, ",") != "/opt/app/data/fresh.txt" {
		t.Errorf("visible under /opt/app/data: %v", vis)
	}
	// Every hidden entry names a hider at or above its own layer.
	if n := queryInt(t, db, `SELECT count(*) FROM image_files WHERE NOT visible AND hidden_by_position < layer_position`); n != 0 {
		t.Errorf("%d entries hidden by a lower layer", n)
	}
	// nginx deletes its default site, which its own earlier layer added.
	got := queryStrings(t, db, `SELECT layer_position, type, visible, hidden_by_position FROM image_files
		WHERE repository = 'apps/nginx' AND path = '/etc/nginx/sites-enabled/default' ORDER BY layer_position`)
	if strings.Join(got, ",") != "1|symlink|0|2,2|whiteout|0|2" {
		t.Errorf("nginx default site: %v", got)
	}
}

func TestFleetHistory(t *testing.T) {
	db := fleetDB(t)
	const nginx = "sha256:98de8865ddb28e8b18f0da10ede37142c2f51bb02ec03bc75a575a36f397b12e"
	got := queryStrings(t, db, `SELECT count(*), sum(empty_layer), count(layer_position), max(layer_position) FROM history WHERE image_digest = ?`, nginx)
	if strings.Join(got, "") != "12|7|5|4" {
		t.Errorf("nginx history count|empty|with layer|max layer = %v", got)
	}
	// Each non-empty history entry points at the layer it made, in order.
	rows := queryStrings(t, db, `SELECT h.layer_position, substr(h.created_by, 1, 20), substr(il.layer_digest, 8, 12) FROM history h
		JOIN image_layers il ON il.image_digest = h.image_digest AND il.position = h.layer_position
		WHERE h.image_digest = ? ORDER BY h.position`, nginx)
	wantLayers := []string{"1660d00e467f", "dde10b8ab3fa", "0a473ce81eaa", "ebb6943ae810", "433502b88c9c"}
	if len(rows) != len(wantLayers) {
		t.Fatalf("history->layers: %v", rows)
	}
	for i, r := range rows {
		if !strings.HasSuffix(r, wantLayers[i]) {
			t.Errorf("history layer %d: %s, want layer %s", i, r, wantLayers[i])
		}
	}
	img := queryStrings(t, db, `SELECT user, workdir, cmd, env FROM images WHERE repository = 'apps/redis'`)
	if len(img) != 1 || !strings.HasPrefix(img[0], `redis|/data|["redis-server","/etc/redis/redis.conf"]|["PATH=`) {
		t.Errorf("redis config: %v", img)
	}
}

// TestFleetLookupsUseIndexes checks that the lookups users and rules rely on
// never scan the entries table.
func TestFleetLookupsUseIndexes(t *testing.T) {
	db := fleetDB(t)
	for _, q := range []string{
		`SELECT * FROM image_files WHERE path = '/usr/bin/bash'`,
		`SELECT * FROM image_files WHERE sha256 = 'abc'`,
		`SELECT * FROM image_files WHERE image_digest = 'sha256:abc'`,
		`SELECT * FROM files WHERE path = '/usr/bin/bash'`,
		`SELECT * FROM files WHERE sha256 = 'abc'`,
		`SELECT * FROM files WHERE layer_digest = 'sha256:abc'`,
		`SELECT * FROM images WHERE digest = 'sha256:abc'`,
		`SELECT * FROM history WHERE image_digest = 'sha256:abc'`,
		`SELECT * FROM image_layers WHERE image_digest = 'sha256:abc'`,
		`SELECT * FROM tags WHERE digest = 'sha256:abc'`,
	} {
		plan := queryStrings(t, db, "EXPLAIN QUERY PLAN "+q)
		// A view that is a compound query (image_files: entries where the tar
		// put them UNION ALL those a symlinked parent moved) is run as a
		// co-routine, and "SCAN <view>" then reads its rows, not a table.
		coroutines := map[string]bool{}
		for _, step := range plan {
			if name, ok := strings.CutPrefix(step[strings.LastIndex(step, "|")+1:], "CO-ROUTINE "); ok {
				coroutines[name] = true
			}
		}
		for _, step := range plan {
			// A plan row is id|parent|notused|detail; a full scan reads "SCAN <table>" with no index.
			detail := step[strings.LastIndex(step, "|")+1:]
			if name, ok := strings.CutPrefix(detail, "SCAN "); ok && coroutines[name] {
				continue
			}
			if strings.HasPrefix(detail, "SCAN ") && !strings.Contains(detail, "USING") {
				t.Errorf("%s:\n  full scan: %s\n  plan: %v", q, detail, plan)
			}
		}
	}
}
