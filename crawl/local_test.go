package crawl_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
)

// scanInto scans targets into an existing database with opts and returns
// the crawler's counters and the errors it reported.
func scanInto(t *testing.T, db *index.DB, opts crawl.Options, targets ...string) (crawl.Stats, []auditor.ScanError) {
	t.Helper()
	var mu sync.Mutex
	var errs []auditor.ScanError
	opts.OnError = func(e auditor.ScanError) { mu.Lock(); errs = append(errs, e); mu.Unlock() } // called concurrently
	cr, err := crawl.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	var ts []crawl.Target
	for _, s := range targets {
		tg, err := crawl.ParseTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tg)
	}
	if err := cr.Scan(context.Background(), ts); err != nil {
		t.Fatal(err)
	}
	return cr.Stats(), errs
}

func tempDB(t *testing.T) *index.DB {
	t.Helper()
	db, err := index.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOCILayout(t *testing.T) {
	dir := filepath.Join(fleettest.Dir(t), "images", "oci")
	db := tempDB(t)
	_, errs := scanInto(t, db, crawl.Options{Jobs: 2}, "oci:"+dir)
	if len(errs) > 0 {
		t.Fatalf("errors: %+v", errs)
	}
	r := &result{db: db}
	// Every image of the layout, under its ref name, with the registry's digests.
	refs := r.strings(t, `SELECT tag || ' ' || digest FROM tags WHERE registry = 'oci' ORDER BY tag`)
	if len(refs) < 15 {
		t.Fatalf("ref names: %v", refs)
	}
	for _, tg := range fleettest.Tags(t) {
		if tg.Repository == "legacy/hello" {
			continue // pushed from the docker archive
		}
		if n := len(r.strings(t, `SELECT digest FROM tags WHERE registry = 'oci' AND digest = ?`, tg.Digest)); n == 0 {
			t.Errorf("%s:%s (%s) not found in the layout scan", tg.Repository, tg.Tag, tg.Digest)
		}
	}
	// Per-layer entry counts as MANIFEST.md gives them.
	for prefix, n := range fleettest.LayerEntries(t) {
		got := r.strings(t, `SELECT entries FROM layers WHERE digest LIKE ?`, "sha256:"+prefix+"%")
		if len(got) != 1 || got[0] != itoaT(n) {
			t.Errorf("layer %s: entries %v, MANIFEST.md says %d", prefix, got, n)
		}
	}
	// The same visibility as from the registry.
	got := r.strings(t, `SELECT path FROM image_files WHERE image_digest = 'sha256:88c14a36a620ca9b1d777038f61d7320c95dc620d7580a12329ba981fce8eafd'
		AND visible AND path GLOB '/opt/app/data/*'`)
	if strings.Join(got, ",") != "/opt/app/data/fresh.txt" {
		t.Errorf("corner-cases from the layout: visible under /opt/app/data: %v", got)
	}

	// oci:DIR:REF scans one image.
	db2 := tempDB(t)
	if _, errs := scanInto(t, db2, crawl.Options{Jobs: 2}, "oci:"+dir+":redis-7.0"); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := (&result{db: db2}).strings(t, `SELECT tag FROM tags`); strings.Join(got, ",") != "redis-7.0" {
		t.Errorf("oci:DIR:redis-7.0 scanned %v", got)
	}
}

func itoaT(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestDockerArchive(t *testing.T) {
	archive := filepath.Join(fleettest.Dir(t), "images", "docker-archive", "legacy-hello-1.0.tar")
	db := tempDB(t)
	st, errs := scanInto(t, db, crawl.Options{Jobs: 2}, "docker-archive:"+archive)
	if len(errs) > 0 {
		t.Fatalf("errors: %+v", errs)
	}
	r := &result{db: db}
	if got := r.strings(t, `SELECT tag FROM tags WHERE registry = 'docker-archive'`); strings.Join(got, ",") != "docker.io/legacy/hello:1.0" {
		t.Errorf("tags %v", got)
	}
	// The image is known by its ID (config digest); layers by diff_id, uncompressed.
	got := r.strings(t, `SELECT il.position || ' ' || l.compression || ' ' || l.entries || ' ' || (l.digest = l.diff_id)
		FROM images i JOIN image_layers il ON il.image_digest = i.digest JOIN layers l ON l.digest = il.layer_digest
		WHERE i.digest = i.config_digest ORDER BY il.position`)
	if strings.Join(got, ",") != "0 none 13 1,1 none 5 1" {
		t.Errorf("layers %v, want 13 and 5 entries (MANIFEST.md), uncompressed, keyed by diff_id", got)
	}
	if st.LayersRead != 2 {
		t.Errorf("read %d layers, want 2", st.LayersRead)
	}
	if got := r.strings(t, `SELECT kind FROM image_files WHERE path = '/usr/local/bin/hello' AND visible`); strings.Join(got, ",") != "script" {
		t.Errorf("/usr/local/bin/hello: %v", got)
	}
}

// TestLocalLayersDedupWithRegistry: layers indexed from the registry are not
// read again from a layout (same digest) or a docker archive (same diff_id).
func TestLocalLayersDedupWithRegistry(t *testing.T) {
	reg := fleettest.Registry(t)
	dir := filepath.Join(fleettest.Dir(t), "images")
	db := tempDB(t)
	if _, errs := scanInto(t, db, crawl.Options{Jobs: 2}, reg+"/library/debian:bookworm", reg+"/legacy/hello:1.0"); len(errs) > 0 {
		t.Fatal(errs)
	}
	st, errs := scanInto(t, db, crawl.Options{Jobs: 2}, "oci:"+filepath.Join(dir, "oci")+":debian-bookworm-minbase", "docker-archive:"+filepath.Join(dir, "docker-archive", "legacy-hello-1.0.tar"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if st.LayersRead != 0 || st.BytesRead != 0 {
		t.Errorf("local scan read %d layers (%d bytes) already indexed from the registry", st.LayersRead, st.BytesRead)
	}
	r := &result{db: db}
	// The archive's image maps to the registry's gzip layers (same diff_id).
	got := r.strings(t, `SELECT l.compression FROM images i JOIN image_layers il ON il.image_digest = i.digest
		JOIN layers l ON l.digest = il.layer_digest WHERE i.registry = 'docker-archive' ORDER BY il.position`)
	if strings.Join(got, ",") != "gzip,gzip" {
		t.Errorf("archive layers map to %v, want the registry's gzip layers", got)
	}
	if n := len(r.strings(t, `SELECT path FROM image_files WHERE registry = 'docker-archive' AND path = '/usr/local/bin/hello' AND visible`)); n != 1 {
		t.Error("archive image has no visible /usr/local/bin/hello")
	}
}

// writeTar writes files (name -> content; a "->" prefix makes a symlink) to
// a tar at path.
func writeTar(t *testing.T, path string, files []struct{ name, body string }) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for _, e := range files {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if link, ok := strings.CutPrefix(e.body, "->"); ok {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// tarDir writes the files of dir into a tar at path.
func tarDir(t *testing.T, dir, path string) {
	t.Helper()
	var files []struct{ name, body string }
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files = append(files, struct{ name, body string }{filepath.ToSlash(rel), string(b)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	writeTar(t, path, files)
}

func TestOCIArchive(t *testing.T) {
	dir := t.TempDir()
	lp, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(1024, 3)
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "v1"})); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "img.tar")
	tarDir(t, filepath.Join(dir, "layout"), archive)

	db := tempDB(t)
	st, errs := scanInto(t, db, crawl.Options{Jobs: 2}, "oci-archive:"+archive+":v1")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	d, _ := img.Digest()
	r := &result{db: db}
	if got := r.strings(t, `SELECT registry || ' ' || tag || ' ' || digest FROM tags`); strings.Join(got, ",") != "oci-archive v1 "+d.String() {
		t.Errorf("tags %v", got)
	}
	if st.LayersRead != 3 {
		t.Errorf("read %d layers, want 3", st.LayersRead)
	}
}

func TestBadArchives(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(fleettest.Dir(t), "images", "docker-archive", "legacy-hello-1.0.tar")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.tar")
	os.WriteFile(truncated, b[:len(b)/2], 0o644)

	missingLayer := filepath.Join(dir, "missing-layer.tar")
	cfg := `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:` + strings.Repeat("ab", 32) + `"]},"config":{}}`
	writeTar(t, missingLayer, []struct{ name, body string }{
		{"manifest.json", `[{"Config":"config.json","RepoTags":["x/y:1"],"Layers":["nope/layer.tar"]}]`},
		{"config.json", cfg},
	})
	traversal := filepath.Join(dir, "traversal.tar")
	writeTar(t, traversal, []struct{ name, body string }{
		{"manifest.json", `[{"Config":"config.json","RepoTags":["x/y:1"],"Layers":["../../etc/passwd"]}]`},
		{"../../etc/passwd", "root:x:0:0"},
	})
	linkOut := filepath.Join(dir, "linkout.tar")
	writeTar(t, linkOut, []struct{ name, body string }{
		{"manifest.json", `[{"Config":"config.json","RepoTags":["x/y:1"],"Layers":["layer.tar"]}]`},
		{"config.json", strings.Replace(cfg, `"diff_ids":["sha256:`+strings.Repeat("ab", 32)+`"]`, `"diff_ids":["sha256:`+strings.Repeat("ab", 32)+`"]`, 1)},
		{"layer.tar", "->../../../etc/passwd"},
	})
	notArchive := filepath.Join(dir, "empty.tar")
	writeTar(t, notArchive, nil)
	tests := map[string]string{
		"docker-archive:" + truncated:                        "truncated.tar",
		"docker-archive:" + missingLayer:                     "nope/layer.tar",
		"docker-archive:" + traversal:                        "escapes the archive",
		"docker-archive:" + linkOut:                          "link escapes the archive",
		"docker-archive:" + notArchive:                       "not a docker archive",
		"oci:" + dir:                                         "not an OCI image layout",
		"oci-archive:" + notArchive:                          "not an OCI image layout",
		"docker-archive:" + filepath.Join(dir, "absent.tar"): "no such file",
	}
	for target, want := range tests {
		db := tempDB(t)
		_, errs := scanInto(t, db, crawl.Options{Jobs: 2}, target)
		if len(errs) != 1 || !strings.Contains(errs[0].Message+" "+errs[0].Repository, want) {
			t.Errorf("%s: errors %+v, want one containing %q", target, errs, want)
		}
	}
	// A bad archive does not stop a good one in the same scan.
	db := tempDB(t)
	_, errs := scanInto(t, db, crawl.Options{Jobs: 2}, "docker-archive:"+truncated, "docker-archive:"+good)
	if len(errs) != 1 || len((&result{db: db}).strings(t, `SELECT digest FROM images`)) != 1 {
		t.Errorf("bad + good archive: errors %+v", errs)
	}
	_ = bytes.NewReader
	_ = io.EOF
}

// TestLocalArchivesClosed scans an oci-archive ten times with a context that
// never ends: each scan closes the archive when it returns.
func TestLocalArchivesClosed(t *testing.T) {
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to count open files")
	}
	dir := t.TempDir()
	lp, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(256, 1)
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "reg.example/app:1"})); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "img.tar")
	tarDir(t, filepath.Join(dir, "layout"), archive)
	db := tempDB(t)
	open := func() int {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(fds)
	}
	scan := func() {
		t.Helper()
		if _, errs := scanInto(t, db, crawl.Options{}, "oci-archive:"+archive+":reg.example/app:1"); len(errs) > 0 {
			t.Fatal(errs)
		}
	}
	scan() // the database's files are open from here on
	before := open()
	for range 10 {
		scan()
	}
	if after := open(); after > before+2 {
		t.Errorf("%d files open after 10 more scans, %d before", after, before)
	}
}
