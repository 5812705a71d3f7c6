package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
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
	rows := func(db *DB) []string {
		rs, err := db.Reader().Query(`SELECT image_digest, layer_position, seq, path, type, visible,
			COALESCE(hidden_by_position, -1), COALESCE(hidden_how, '') FROM image_files ORDER BY 1, 2, 3`)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			var img, path, typ, how string
			var pos, seq, visible, by int
			if err := rs.Scan(&img, &pos, &seq, &path, &typ, &visible, &by, &how); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s L%d#%d %s %q visible=%d by=%d %s", img[7:15], pos, seq, typ, path, visible, by, how))
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want, got := rows(mem), rows(byPath)
	if len(want) < 500 {
		t.Fatalf("only %d image_files rows", len(want))
	}
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("image_files differ at row %d:\n got %s\nwant %s", i, got[i], want[i])
			}
		}
		t.Fatalf("image_files: %d rows in path order, %d in memory", len(got), len(want))
	}
}
