package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/auditor-dev/auditor/internal/indextest"
)

// TestVisibilityByPathSQLite stores random layer stacks (paths with bytes
// that sort around '/', duplicates, files replacing directories and back,
// whiteouts, opaque directories, layers listed twice) in two indexes, one
// computing visibility in memory and one in path order through SQLite's
// sorter, and checks that image_files agrees row for row.
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
		stack := layersFromBytes(buf)
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
				l.Entries = append(l.Entries, Entry{Path: e.Path, Type: e.Type, Mode: 0o644, Kind: KindNone})
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
		for _, db := range []*DB{mem, byPath} {
			if err := db.PutImage(ctx, Repo{Registry: "r", Name: "x"}, "", img); err != nil {
				t.Fatal(err)
			}
		}
	}
	hidden, _ := strconv.Atoi(indextest.Strings(t, mem.Reader(), `SELECT count(*) FROM image_files WHERE NOT visible`)[0])
	if hidden < 300 {
		t.Fatalf("only %d image_files rows hidden: the comparison proves little", hidden)
	}
	indextest.Equal(t, byPath.Path(), mem.Path())
}
