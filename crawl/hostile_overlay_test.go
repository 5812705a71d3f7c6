package crawl_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/indextest"
)

// TestHostileVisibilityByPath stacks the readable layers of the hostile
// corpus into images (all of them, in both orders, and every pair) in two
// indexes, one computing visibility in memory and one in path order through
// SQLite's sorter, and checks that image_files agrees row for row.
func TestHostileVisibilityByPath(t *testing.T) {
	ctx := context.Background()
	open := func(name string, max int64) *index.DB {
		db, err := index.Open(ctx, filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		db.OverlayInMemoryMax = max
		return db
	}
	mem, byPath := open("mem.db", 0), open("path.db", -1)
	var digests []string
	for _, c := range hostileLayers(t) {
		if c.wantErr != "" {
			continue
		}
		l, err := crawl.ReadLayer(ctx, bytes.NewReader(c.blob), crawl.LayerInput{Digest: digestOf(c.blob), Verify: true}, corpusLimits)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, db := range []*index.DB{mem, byPath} {
			if err := db.PutLayer(ctx, l); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		digests = append(digests, l.Digest)
	}
	if len(digests) < 5 {
		t.Fatalf("only %d readable layers in the corpus", len(digests))
	}
	stacks := [][]string{digests, reversed(digests)}
	for _, a := range digests {
		for _, b := range digests {
			stacks = append(stacks, []string{a, b})
		}
	}
	for i, s := range stacks {
		img := &auditor.Image{Digest: fmt.Sprintf("sha256:%064x", i), MediaType: "application/vnd.oci.image.manifest.v1+json", Layers: s}
		for _, db := range []*index.DB{mem, byPath} {
			if err := db.PutImage(ctx, auditor.Repo{Registry: "r", Name: "hostile"}, "", img); err != nil {
				t.Fatal(err)
			}
		}
	}
	hidden, _ := strconv.Atoi(indextest.Strings(t, mem.Reader(), `SELECT count(*) FROM image_files WHERE NOT visible`)[0])
	if hidden < 50 {
		t.Fatalf("only %d image_files rows hidden: the comparison proves little", hidden)
	}
	indextest.Equal(t, byPath.Path(), mem.Path())
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}
