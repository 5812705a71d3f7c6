package crawl_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
)

// countingTransport counts registry requests by kind.
type countingTransport struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := "other"
	switch {
	case strings.Contains(r.URL.Path, "/blobs/"):
		kind = r.Method + " blob"
	case strings.Contains(r.URL.Path, "/manifests/"):
		kind = r.Method + " manifest"
	case strings.HasSuffix(r.URL.Path, "/tags/list"):
		kind = "tags"
	case strings.HasSuffix(r.URL.Path, "/_catalog"):
		kind = "catalog"
	}
	c.mu.Lock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[kind]++
	c.mu.Unlock()
	return remote.DefaultTransport.RoundTrip(r)
}

func TestRescanReadsNoBlob(t *testing.T) {
	reg := fleettest.Registry(t)
	dbPath := filepath.Join(t.TempDir(), "a.db")
	ctx := context.Background()
	var cold countingTransport
	opts := fleettest.Options(t)
	opts.Transport = &cold
	if err := fleettest.Scan(ctx, dbPath, opts, reg); err != nil {
		t.Fatal(err)
	}
	if cold.counts["GET blob"] == 0 {
		t.Fatalf("cold scan read no blob: %v", cold.counts)
	}
	var warm countingTransport
	opts.Transport = &warm
	if err := fleettest.Scan(ctx, dbPath, opts, reg); err != nil {
		t.Fatal(err)
	}
	tags := len(fleettest.Tags(t))
	if warm.counts["GET blob"] != 0 || warm.counts["HEAD blob"] != 0 {
		t.Errorf("warm re-scan fetched blobs: %v", warm.counts)
	}
	var tagCount int
	db, err := index.OpenReadOnly(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Reader().QueryRow(`SELECT count(*) FROM tags`).Scan(&tagCount); err != nil {
		t.Fatal(err)
	}
	if tagCount != tags {
		t.Errorf("%d tags indexed, fleet.list has %d", tagCount, tags)
	}
	if m := warm.counts["HEAD manifest"] + warm.counts["GET manifest"]; m > tagCount {
		t.Errorf("warm re-scan made %d manifest requests for %d tags: %v", m, tagCount, warm.counts)
	}
}

// TestBrokenBlob corrupts one layer blob in the registry's storage: the scan
// reports it, naming the image and layer, and indexes everything else,
// including the broken image's intact layer.
func TestBrokenBlob(t *testing.T) {
	reg := fleettest.Registry(t)
	badRef, badImg := fleettest.PushRandom(t, "broken", 2)
	goodRef, _ := fleettest.PushRandom(t, "intact", 1)
	layers, err := badImg.Layers()
	if err != nil {
		t.Fatal(err)
	}
	broken, _ := layers[1].Digest()
	intact, _ := layers[0].Digest()
	fleettest.CorruptBlob(t, broken)

	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "b.db")
	db, err := index.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	var errs []auditor.ScanError
	cr, err := crawl.New(db, crawl.Options{OnError: func(e auditor.ScanError) { mu.Lock(); errs = append(errs, e); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	var targets []crawl.Target
	for _, s := range []string{badRef.String(), goodRef.String(), reg + "/library/debian", reg + "/corp/billing-worker"} {
		tg, err := crawl.ParseTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, tg)
	}
	if err := cr.Scan(ctx, targets); err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 {
		t.Fatalf("scan errors: %+v", errs)
	}
	e := errs[0]
	if e.Repository != badRef.Context().RepositoryStr() || e.Reference != "v1" || e.LayerDigest != broken.String() || !strings.Contains(e.Message, broken.String()) {
		t.Errorf("scan error %+v does not name the image and layer %s", e, broken)
	}
	// The flipped bytes break the gzip stream too; the digest is what the
	// error is about.
	if !strings.Contains(e.Message, "digest mismatch: error verifying sha256 checksum") || !strings.Contains(e.Message, "(and decoding it failed: ") || !strings.Contains(e.Message, "gzip: ") {
		t.Errorf("scan error %q is not reported as a digest mismatch, with the decoder's error", e.Message)
	}
	r := db.Reader()
	count := func(q string, args ...any) int {
		var n int
		if err := r.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM images WHERE repository = ?`, badRef.Context().RepositoryStr()); n != 0 {
		t.Errorf("broken image indexed (%d rows)", n)
	}
	if n := count(`SELECT count(*) FROM layers WHERE digest = ?`, broken.String()); n != 0 {
		t.Error("broken layer marked indexed")
	}
	if n := count(`SELECT count(*) FROM layers WHERE digest = ?`, intact.String()); n != 1 {
		t.Error("the broken image's intact layer was not kept")
	}
	if n := count(`SELECT count(*) FROM images`); n != 1+1+3 {
		t.Errorf("%d images indexed, want the intact test image, debian and 3 billing-worker images", n)
	}
	// The tag mapping is still recorded: the broken image is known to exist.
	if n := count(`SELECT count(*) FROM tags WHERE repository = ?`, badRef.Context().RepositoryStr()); n != 1 {
		t.Errorf("broken image's tag not recorded")
	}
}
