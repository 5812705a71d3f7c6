package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/auditor-dev/auditor/internal/indextest"
	"github.com/auditor-dev/auditor/internal/overlaytest"
)

// TestVisibilityByPathSQLite stores random layer stacks (paths with bytes
// that sort around '/', duplicates, files replacing directories and back,
// whiteouts, opaque directories, layers listed twice) in two indexes, one
// computing visibility in memory and one in path order through SQLite's
// sorter, and checks that image_files agrees row for row. Each stack has
// siblings with another top layer, which the in-memory index computes over
// the tree it kept of the shared lower layers.
func TestVisibilityByPathSQLite(t *testing.T) {
	ctx := context.Background()
	open := func(name string, max int64) *DB {
		db, err := Open(ctx, filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		db.OverlayInMemoryMax = max
		return db
	}
	mem, byPath := open("mem.db", 0), open("path.db", -1)
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 200)
	for n := range 150 {
		for i := range buf {
			buf[i] = byte(r.UintN(256))
		}
		stack := overlaytest.LayersFromBytes(buf)
		img := &Image{Digest: fmt.Sprintf("sha256:%064x", n), MediaType: "application/vnd.oci.image.manifest.v1+json"}
		digests := map[*OverlayEntry]string{}
		for pos, es := range stack {
			if len(es) > 0 {
				if d, ok := digests[&es[0]]; ok { // a layer listed twice
					img.Layers = append(img.Layers, d)
					continue
				}
			}
			l := &Layer{Digest: fmt.Sprintf("sha256:%060x%04x", n, pos), Compression: "none"}
			for _, e := range es {
				l.Entries = append(l.Entries, Entry{Path: e.Path, Type: e.Type, Linkname: e.Link, Mode: 0o644, Kind: KindNone})
			}
			if len(es) > 0 {
				digests[&es[0]] = l.Digest
			}
			for _, db := range []*DB{mem, byPath} {
				if err := db.PutLayer(ctx, l); err != nil {
					t.Fatal(err)
				}
			}
			img.Layers = append(img.Layers, l.Digest)
		}
		images := []*Image{img}
		// Two siblings that differ from img in their top layer only: the
		// in-memory index computes them over the tree it kept of img's lower
		// layers (prefixCache), after rolling back img's top layer.
		for sib := range 2 {
			if len(img.Layers) < 2 {
				break
			}
			for i := range buf {
				buf[i] = byte(r.UintN(256))
			}
			l := &Layer{Digest: fmt.Sprintf("sha256:%056x%04x%04x", n, sib, 0xfff), Compression: "none"}
			for _, e := range overlaytest.LayersFromBytes(buf)[0] {
				l.Entries = append(l.Entries, Entry{Path: e.Path, Type: e.Type, Linkname: e.Link, Mode: 0o644, Kind: KindNone})
			}
			for _, db := range []*DB{mem, byPath} {
				if err := db.PutLayer(ctx, l); err != nil {
					t.Fatal(err)
				}
			}
			images = append(images, &Image{Digest: fmt.Sprintf("sha256:%056x%04x%04x", n, sib, 1), MediaType: img.MediaType,
				Layers: append(slices.Clone(img.Layers[:len(img.Layers)-1]), l.Digest)})
		}
		for _, im := range images {
			for _, db := range []*DB{mem, byPath} {
				if err := db.PutImage(ctx, Repo{Registry: "r", Name: "x"}, "", im); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	hidden, _ := strconv.Atoi(indextest.Strings(t, mem.Reader(), `SELECT count(*) FROM image_files WHERE NOT visible`)[0])
	if hidden < 300 {
		t.Fatalf("only %d image_files rows hidden: the comparison proves little", hidden)
	}
	moved, _ := strconv.Atoi(indextest.Strings(t, mem.Reader(), `SELECT count(*) FROM image_files WHERE written_via IS NOT NULL`)[0])
	if moved < 20 {
		t.Fatalf("only %d image_files rows written through a link: the comparison proves little", moved)
	}
	indextest.Equal(t, byPath.Path(), mem.Path())
}
