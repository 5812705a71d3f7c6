package crawl_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
)

// TestStreamedLayerEqualsWholeLayer scans a layer of several writer chunks
// (with hardlinks to files chunks back) through the crawler, which streams
// it, and checks the files view against the layer read whole by ReadLayer:
// same entries, in tar order, with the same hashes.
func TestStreamedLayerEqualsWholeLayer(t *testing.T) {
	const n = 40_000
	dir := t.TempDir()
	writeBigLayout(t, dir, n)
	db := tempDB(t)
	if _, errs := scanInto(t, db, crawl.Options{Jobs: 2}, "oci:"+filepath.Join(dir, "oci")); len(errs) > 0 {
		t.Fatalf("errors: %+v", errs)
	}
	var digest string
	if err := db.Reader().QueryRow(`SELECT digest FROM layers`).Scan(&digest); err != nil {
		t.Fatal(err)
	}
	blob, err := os.ReadFile(filepath.Join(dir, "oci", "blobs", "sha256", strings.TrimPrefix(digest, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := crawl.ReadLayer(context.Background(), bytes.NewReader(blob), crawl.LayerInput{Digest: digest, Verify: true}, crawl.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Entries) != n {
		t.Fatalf("ReadLayer: %d entries, want %d", len(whole.Entries), n)
	}
	rows, err := db.Reader().Query(`SELECT seq, path, type, COALESCE(sha256, ''), COALESCE(linkname, '') FROM files WHERE layer_digest = ? ORDER BY seq`, digest)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i, links := 0, 0
	for ; rows.Next(); i++ {
		var seq int
		var p, typ, sum, link string
		if err := rows.Scan(&seq, &p, &typ, &sum, &link); err != nil {
			t.Fatal(err)
		}
		e := whole.Entries[min(i, n-1)]
		got := fmt.Sprint(seq, p, typ, sum, link)
		if want := fmt.Sprint(i, e.Path, e.Type, e.SHA256, e.Linkname); got != want {
			t.Fatalf("entry %d: files view has %s, ReadLayer %s", i, got, want)
		}
		if e.Type == auditor.TypeHardlink && sum != "" {
			links++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Every 50th entry is a hardlink; the first points at a file that comes
	// after it, so it has no hash.
	if i != n || links != n/50-1 {
		t.Errorf("%d rows, %d hardlinks with a hash; want %d and %d", i, links, n, n/50-1)
	}
}
