package rules

import (
	"archive/tar"
	"context"
	"encoding/binary"
	"flag"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/imagepkg"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/testlayer"
	"github.com/auditor-dev/auditor/scanners"
)

// ent is one tar entry of a test layer.
type ent struct {
	name     string
	typ      byte // tar.TypeReg when 0
	mode     int64
	uid, gid int
	body     string
	link     string
	major    int64
	caps     []byte // security.capability xattr
}

func elf(s string) string { return "\x7fELF\x02\x01\x01\x00" + s }

// layerOf builds a gzip layer from entries, written exactly as given (no
// name cleaning: tests plant unsafe names on purpose).
func layerOf(t testing.TB, ents ...ent) v1.Layer {
	t.Helper()
	tls := make([]testlayer.Entry, len(ents))
	for i, e := range ents {
		tls[i] = testlayer.Entry{Name: e.name, Type: e.typ, Mode: e.mode, UID: e.uid, GID: e.gid, Body: e.body, Link: e.link,
			Devmajor: e.major, Devminor: 3, Caps: e.caps}
	}
	return testlayer.Layer(t, tls...)
}

// capNetRaw is a vfs_cap_data v2 value: cap_net_raw=ep.
func capNetRaw() []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000001)
	binary.LittleEndian.PutUint32(b[4:], 1<<13)
	return b
}

// baseLayer is a tiny distribution: binaries, a setuid su, a package
// database, a shell start-up file in /etc/skel.
func baseLayer(t testing.TB) v1.Layer {
	return layerOf(t,
		ent{name: "bin", typ: tar.TypeSymlink, link: "usr/bin"},
		ent{name: "etc/", typ: tar.TypeDir},
		ent{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\n"},
		ent{name: "etc/skel/.bashrc", body: "# ~/.bashrc\n"},
		ent{name: "etc/init.d/", typ: tar.TypeDir},
		ent{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
		ent{name: "usr/bin/", typ: tar.TypeDir},
		ent{name: "usr/bin/ls", mode: 0o755, body: elf("ls")},
		ent{name: "usr/bin/sh", mode: 0o755, body: elf("sh")},
		ent{name: "usr/bin/su", mode: 0o4755, body: elf("su")},
		ent{name: "usr/lib/libc.so.6", mode: 0o755, body: elf("libc")},
		ent{name: "var/lib/dpkg/status", body: "Package: base\n"},
	)
}

// dpkgBaseLayer is a tiny merged-/usr Debian: binaries, a setuid su, libc and
// the dynamic loader, a PAM module, conffiles (one a shell start-up file
// in /etc/skel), each owned by a package of its dpkg database
// (basePackages), and an /etc/passwd no package owns (as in Debian).
func dpkgBaseLayer(t testing.TB) v1.Layer { return dpkgBaseLayerWith(t, nil) }

// imageOf stacks layers and applies a config change.
func imageOf(t testing.TB, cfg func(*v1.ConfigFile), history []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := empty.Image
	for i, l := range layers {
		created := "/bin/sh -c #(nop) ADD layer " + string(rune('0'+i))
		if i < len(history) && history[i] != "" {
			created = history[i]
		}
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: created}})
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Cmd = []string{"/bin/sh"}
	if cfg != nil {
		cfg(cf)
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testRegistry is an in-process registry (go-containerregistry's, over
// loopback HTTP) for images built by tests.
func testRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func push(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// testMatcher is the default patterns' matcher.
func testMatcher(t testing.TB) *scanners.Matcher {
	t.Helper()
	m, err := scanners.NewMatcher(scanners.DefaultPatterns(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// scanInto scans targets into the index at dbPath the way `auditor scan`
// does (a scans row, content checks with m when not nil) and returns the
// scan id. Any scan error fails the test.
func scanInto(t testing.TB, dbPath string, m *scanners.Matcher, targets ...string) int64 {
	t.Helper()
	var opts crawl.Options
	if m != nil {
		opts.Scanners = []crawl.LayerScanner{m}
	}
	opts.Scanners = append(opts.Scanners, scanners.NewConfig(0))
	return scanWith(t, dbPath, opts, targets...)
}

// scanWith is scanInto with crawl options (opts.Scanners the matcher).
func scanWith(t testing.TB, dbPath string, opts crawl.Options, targets ...string) int64 {
	t.Helper()
	id, _ := scanStats(t, dbPath, opts, targets...)
	return id
}

// scanStats is scanWith returning the crawl's figures too.
func scanStats(t testing.TB, dbPath string, opts crawl.Options, targets ...string) (int64, crawl.Stats) {
	t.Helper()
	ctx := context.Background()
	db, err := index.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id, err := db.BeginScan(ctx, strings.Join(targets, " "), "test")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var errs []string
	opts.OnError = func(e auditor.ScanError) {
		mu.Lock()
		errs = append(errs, e.Repository+"@"+e.Reference+": "+e.Message)
		mu.Unlock()
	}
	// The package databases are kept and each image's packages resolved,
	// as auditor scan does (its default), so the package rules have
	// packages, package_files and image_files.package to read.
	hasPackages := false
	for _, s := range opts.Scanners {
		hasPackages = hasPackages || s.Name() == scanners.PackagesScanner
	}
	if !hasPackages {
		ps, err := scanners.NewPackages(scanners.PackagesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		opts.Scanners = append(opts.Scanners, ps)
	}
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
	if err := cr.Scan(ctx, ts); err != nil {
		t.Fatal(err)
	}
	if _, err := imagepkg.Update(ctx, db, func(image string, err error) {
		errs = append(errs, image+": packages: "+err.Error())
	}); err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Fatalf("scan errors:\n%s", strings.Join(errs, "\n"))
	}
	if err := db.FinishScan(ctx, id, index.ScanOK, auditor.ScanStats{}); err != nil {
		t.Fatal(err)
	}
	return id, cr.Stats()
}

// runRules runs set on the index at dbPath for its latest scan.
func runRules(t testing.TB, dbPath string, set *Set, o RunOptions) *Result {
	t.Helper()
	ctx := context.Background()
	db, err := index.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := Run(ctx, db, set, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	return res
}

func defaultSet(t testing.TB) *Set {
	t.Helper()
	s, err := NewSet(SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// findings reads back findings (suppressed included) from the index.
func findings(t testing.TB, dbPath string, f Filter) []Finding {
	t.Helper()
	f.Suppressed = true
	fs, err := ReadFindings(context.Background(), openRO(t, dbPath).Reader(), f)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// openRO opens an index read-only for the rest of the test.
func openRO(t testing.TB, dbPath string) *index.DB {
	t.Helper()
	db, err := index.OpenReadOnly(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func tempDB(t testing.TB) string { return filepath.Join(t.TempDir(), "index.db") }

// tempDirOutsideTest is a directory that outlives one test (for indexes
// shared by the tests of the package); TestMain removes it.
func tempDirOutsideTest() (string, error) {
	sharedDirMu.Lock()
	defer sharedDirMu.Unlock()
	if sharedDir == "" {
		d, err := os.MkdirTemp("", "auditor-rules-test-")
		if err != nil {
			return "", err
		}
		sharedDir = d
	}
	return sharedDir, nil
}

var (
	sharedDirMu sync.Mutex
	sharedDir   string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// planter collects images planted on a base layer, with the findings each
// must give, for the technique tests.
type planter struct {
	t    testing.TB
	base v1.Layer
	out  []plantedImage
}

// add plants an image of the base and layers; cfg changes its config and
// history names its steps after the base's (nil: no history).
func (p *planter) add(repo string, cfg func(*v1.ConfigFile), history []string, layers []v1.Layer, hits ...hit) {
	ti := testImage{repo: repo, layers: append([]v1.Layer{p.base}, layers...), config: cfg}
	if history != nil {
		ti.history = append([]string{""}, history...)
	}
	p.out = append(p.out, plantedImage{ti, hits})
}

// one is a single layer of ents.
func (p *planter) one(ents ...ent) []v1.Layer { return []v1.Layer{layerOf(p.t, ents...)} }
