package crawl_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/internal/fleettest"
)

// testScanner is a per-layer scanner that counts the layers it reads and
// the files it sees, and fails on files whose path has failOn in it.
type testScanner struct {
	name, version string
	failOn        string

	mu     sync.Mutex
	layers int
	files  map[string]int // path -> times seen
}

func (s *testScanner) Name() string    { return s.name }
func (s *testScanner) Version() string { return s.version }

func (s *testScanner) NewScan(crawl.ScanSink) crawl.LayerScan {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.layers++
	return &testScan{s}
}

type testScan struct{ s *testScanner }

func (t *testScan) Wants(path string, size int64) bool { return strings.HasPrefix(path, "/etc/") }

func (t *testScan) File(_ int, path string, content []byte) error {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if t.s.files == nil {
		t.s.files = map[string]int{}
	}
	t.s.files[path]++
	if t.s.failOn != "" && strings.Contains(path, t.s.failOn) {
		return errors.New("corrupt: " + string(content))
	}
	return nil
}

func (t *testScan) Done() error { return nil }

// TestScannerVersionRescan: a scanner's new version has every indexed layer
// read once more, for that scanner only, without writing its entries again;
// the scan after that reads no blob.
func TestScannerVersionRescan(t *testing.T) {
	reg := fleettest.Registry(t)
	db := tempDB(t)
	a, b := &testScanner{name: "a", version: "1"}, &testScanner{name: "b", version: "1"}
	opts := fleettest.Options(t)
	var cold countingTransport
	opts.Transport, opts.Scanners = &cold, []crawl.LayerScanner{a, b}
	if _, errs := scanInto(t, db, opts, reg); len(errs) > 0 {
		t.Fatalf("cold scan: %+v", errs)
	}
	r := &result{db: db}
	layers := len(r.strings(t, `SELECT digest FROM layers`))
	entries := r.strings(t, `SELECT count(*) FROM entries`)
	if a.layers != layers || b.layers != layers {
		t.Fatalf("cold scan: scanners read %d and %d layers of %d", a.layers, b.layers, layers)
	}

	a.layers, b.layers = 0, 0
	b2 := &testScanner{name: "b", version: "2"}
	var bumped countingTransport
	opts.Transport, opts.Scanners = &bumped, []crawl.LayerScanner{a, b2}
	st, errs := scanInto(t, db, opts, reg)
	if len(errs) > 0 {
		t.Fatalf("scan with b at version 2: %+v", errs)
	}
	if st.LayersRescanned != int64(layers) || fmt.Sprint(st.Rescanners) != "[b]" {
		t.Errorf("stats: %d layers read again for %v, want %d for [b]", st.LayersRescanned, st.Rescanners, layers)
	}
	if a.layers != 0 || b2.layers != layers {
		t.Errorf("after b's version changed: a read %d layers (want 0), b %d (want each of the %d once)", a.layers, b2.layers, layers)
	}
	// Each layer blob once more (and each image's config, as the images are
	// stored again): what the cold scan fetched.
	if bumped.counts["GET blob"] != cold.counts["GET blob"] {
		t.Errorf("after b's version changed: %d blob GETs, the cold scan made %d", bumped.counts["GET blob"], cold.counts["GET blob"])
	}
	for p, n := range b2.files {
		if n != 1 && !strings.HasPrefix(p, "/etc/") {
			t.Errorf("b saw %s %d times", p, n)
		}
	}
	if got := r.strings(t, `SELECT count(*) FROM entries`); fmt.Sprint(got) != fmt.Sprint(entries) {
		t.Errorf("entries: %v after the re-read, %v before", got, entries)
	}
	if got := r.strings(t, `SELECT scanner || ' ' || version || ' ' || count(*) FROM layer_scans WHERE error IS NULL GROUP BY scanner, version ORDER BY 1`); fmt.Sprint(got) !=
		fmt.Sprintf("[a 1 %d b 2 %d]", layers, layers) {
		t.Errorf("layer_scans: %v", got)
	}

	var warm countingTransport
	opts.Transport = &warm
	if _, errs := scanInto(t, db, opts, reg); len(errs) > 0 {
		t.Fatalf("warm scan: %+v", errs)
	}
	if warm.counts["GET blob"] != 0 || warm.counts["HEAD blob"] != 0 || a.layers != 0 || b2.layers != layers {
		t.Errorf("warm re-scan fetched blobs (%v) or read layers (a %d, b %d)", warm.counts, a.layers, b2.layers-layers)
	}
}

// TestScannerFailure: a scanner failing on one file of a layer is one error
// naming the image, the layer, the scanner and the file, recorded with the
// layer; the layer's files are indexed, the other scanners see them all,
// and the image is stored.
func TestScannerFailure(t *testing.T) {
	reg := memRegistry(t)
	l, err := crane.Layer(map[string][]byte{"etc/ok": []byte("fine"), "etc/pkgdb": []byte("\x00\x01"), "etc/z": []byte("z"), "usr/bin/x": []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	push(t, reg+"/scan/fail:v1", img)
	ld, _ := l.Digest()
	bad, good := &testScanner{name: "bad", version: "1", failOn: "pkgdb"}, &testScanner{name: "good", version: "1"}
	db := tempDB(t)
	_, errs := scanInto(t, db, crawl.Options{Scanners: []crawl.LayerScanner{bad, good}}, reg+"/scan/fail:v1")
	if len(errs) != 1 || errs[0].Repository != "scan/fail" || errs[0].Reference != "v1" || errs[0].LayerDigest != ld.String() ||
		!strings.Contains(errs[0].Message, `scanner bad`) || !strings.Contains(errs[0].Message, `"/etc/pkgdb": corrupt`) {
		t.Fatalf("scan errors: %+v", errs)
	}
	r := &result{db: db}
	if got := r.strings(t, `SELECT path FROM files WHERE type = 'file' ORDER BY path`); fmt.Sprint(got) != "[/etc/ok /etc/pkgdb /etc/z /usr/bin/x]" {
		t.Errorf("files: %v", got)
	}
	if got := r.strings(t, `SELECT count(*) FROM images`); fmt.Sprint(got) != "[1]" {
		t.Errorf("images: %v", got)
	}
	if len(good.files) != 3 || bad.files["/etc/z"] != 0 {
		t.Errorf("good saw %v, bad %v: a failed scan stops, the others go on", good.files, bad.files)
	}
	if got := r.strings(t, `SELECT scanner || ': ' || COALESCE(error, '-') FROM layer_scans ORDER BY 1`); fmt.Sprint(got) != `[bad: "/etc/pkgdb": corrupt: `+"\x00\x01"+` good: -]` {
		t.Errorf("layer_scans: %q", got)
	}
	// Recorded: the next scan does not read the layer again.
	if _, errs := scanInto(t, db, crawl.Options{Scanners: []crawl.LayerScanner{bad, good}}, reg+"/scan/fail:v1"); len(errs) != 0 || bad.layers != 1 {
		t.Errorf("second scan: %+v, layers read by the failing scanner: %d", errs, bad.layers)
	}
}
