package imagepkg_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/viewdump"
	"github.com/auditor-dev/auditor/scan"
	"github.com/auditor-dev/auditor/scanners"
)

// blobCounter counts the blob requests that pass through it.
type blobCounter struct{ n atomic.Int64 }

func (c *blobCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/blobs/") {
		c.n.Add(1)
	}
	return remote.DefaultTransport.RoundTrip(r)
}

// TestWarmRescanReadsNoBlob: with the packages scanner on (digests and
// all), a re-scan of the unchanged fleet through scan.Run makes no blob
// request (GET or HEAD) and resolves no image again, and the package views
// are as the cold scan left them.
func TestWarmRescanReadsNoBlob(t *testing.T) {
	ctx := context.Background()
	reg := fleettest.Registry(t)
	tg, err := crawl.ParseTarget(reg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := index.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	views := []string{"packages", "package_files", "content_digests", "package_db_files"}
	cols := viewdump.Public(t, db.Reader())
	dump := func() map[string][]string {
		out := map[string][]string{}
		for _, v := range views {
			if out[v], err = viewdump.Dump(ctx, db.Reader(), v, cols[v], nil); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	var blobs [2]int64
	var resolved [2]int
	var after [2]map[string][]string
	for i := range 2 {
		pkgs, err := scanners.NewPackages(scanners.PackagesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var c blobCounter
		opts := fleettest.Options(t)
		opts.Scanners, opts.Transport = []crawl.LayerScanner{pkgs}, &c
		res, err := scan.Run(ctx, db, scan.Options{Targets: []crawl.Target{tg}, Crawl: opts})
		if err != nil {
			t.Fatal(err)
		}
		blobs[i], resolved[i], after[i] = c.n.Load(), res.PackageImages, dump()
	}
	if blobs[0] == 0 || resolved[0] == 0 || len(after[0]["package_files"]) < 2000 {
		t.Fatalf("cold scan: %d blob requests, %d images resolved, %d package_files rows", blobs[0], resolved[0], len(after[0]["package_files"]))
	}
	if blobs[1] != 0 || resolved[1] != 0 {
		t.Errorf("warm re-scan: %d blob requests, %d images resolved again; want none", blobs[1], resolved[1])
	}
	for _, v := range views {
		if strings.Join(after[0][v], "\n") != strings.Join(after[1][v], "\n") {
			t.Errorf("view %s changed by the warm re-scan: %d rows, then %d", v, len(after[0][v]), len(after[1][v]))
		}
	}
}
