package index

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/overlay"
)

// TestPrefixKeptOnce: images sharing their lower layers keep one tree,
// charged its own entries and the last top layer's, however many images
// reuse it.
func TestPrefixKeptOnce(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	layer := func(name string, n int) string {
		l := &Layer{Digest: fmt.Sprintf("sha256:%064x", len(name)*1000+n), Compression: "none"}
		for i := range n {
			l.Entries = append(l.Entries, Entry{Path: fmt.Sprintf("/%s/f%d", name, i), Type: auditor.TypeFile, Mode: 0o644, Kind: KindOther})
		}
		if err := db.PutLayer(ctx, l); err != nil {
			t.Fatal(err)
		}
		return l.Digest
	}
	base := layer("base", 300)
	for i := range 5 {
		top := layer("top", 10+i)
		img := &Image{Digest: fmt.Sprintf("sha256:%064x", 9000+i), MediaType: "application/vnd.oci.image.manifest.v1+json", Layers: []string{base, top}}
		if err := db.PutImage(ctx, Repo{Registry: "r", Name: "app"}, "", img); err != nil {
			t.Fatal(err)
		}
	}
	// Charged in bytes: a node per entry and the path it keeps.
	var kept []overlay.Entry
	for i := range 300 {
		kept = append(kept, overlay.Entry{Path: fmt.Sprintf("/base/f%d", i)})
	}
	for i := range 14 {
		kept = append(kept, overlay.Entry{Path: fmt.Sprintf("/top/f%d", i)})
	}
	want := overlay.TreeCharge(kept)
	if got := db.prefixes.n; len(db.prefixes.items) != 1 || got != want {
		t.Errorf("kept %d trees charged %d bytes, want 1 charged %d", len(db.prefixes.items), got, want)
	}
}
