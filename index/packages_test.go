package index

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor"
)

// TestVisibleFilesCached: VisibleFiles through CacheLayers gives the rows
// the image_files view gives as visible, for hardlinks whose rows move
// (another inode's type and content), a file written through a symlinked
// directory (it lands elsewhere), a whiteout, an opaque directory and a
// layer listed twice; the fleet's images are compared in imagepkg's
// TestCachedViewsMatch.
func TestVisibleFilesCached(t *testing.T) {
	ctx := context.Background()
	sha := func(c string) string { return strings.Repeat(c, 64) }
	base := []Entry{
		{Path: "/usr", Type: TypeDir, Mode: 0o755},
		{Path: "/usr/bin", Type: TypeDir, Mode: 0o755},
		{Path: "/bin", Type: TypeSymlink, Linkname: "usr/bin", Mode: 0o777},
		{Path: "/usr/bin/ls", Type: TypeFile, Mode: 0o755, Size: 3, SHA256: sha("a"), Kind: KindELF},
		{Path: "/x", Type: TypeFile, Mode: 0o4755, Size: 3, SHA256: sha("b"), Kind: KindELF},
		{Path: "/s", Type: TypeSymlink, Linkname: "x", Mode: 0o777},
		{Path: "/gone", Type: TypeFile, Mode: 0o644, Size: 1, SHA256: sha("c"), Kind: KindOther},
		{Path: "/d", Type: TypeDir, Mode: 0o755},
		{Path: "/d/old", Type: TypeFile, Mode: 0o644, Size: 1, SHA256: sha("d"), Kind: KindOther},
	}
	top := []Entry{
		{Path: "/bin/new", Type: TypeFile, Mode: 0o755, Size: 2, SHA256: sha("e"), Kind: KindScript},
		{Path: "/y", Type: TypeHardlink, Linkname: "x", Mode: 0o755},
		{Path: "/hs", Type: TypeHardlink, Linkname: "s", Mode: 0o644},
		{Path: "/.wh.gone", Type: TypeWhiteout},
		{Path: "/d", Type: TypeDir, Mode: 0o755},
		{Path: "/d/.wh..wh..opq", Type: TypeOpaque},
		{Path: "/d/new", Type: TypeFile, Mode: 0o644, Size: 1, SHA256: sha("f"), Kind: KindOther},
	}
	rows := func(fs []auditor.VisibleFile) []string {
		var out []string
		for _, f := range fs {
			out = append(out, fmt.Sprintf("%s %d %s %.4s", f.Path, f.Type, f.LinkTarget, f.SHA256))
		}
		slices.Sort(out)
		return out
	}
	for _, positions := range [][]int{{0, 1}, {0, 1, 0}} {
		db := putStack(t, false, [][]Entry{base, top}, positions...)
		if n := count(t, db, `SELECT count(*) FROM moved`); n < 3 {
			t.Fatalf("%v: %d moved rows, want /bin/new, /y, /hs", positions, n)
		}
		image := "sha256:" + strings.Repeat("e", 64)
		plain, err := db.VisibleFiles(ctx, image)
		if err != nil {
			t.Fatal(err)
		}
		done := db.CacheLayers()
		for round := range 2 {
			cached, err := db.VisibleFiles(ctx, image)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := rows(cached), rows(plain); !slices.Equal(got, want) {
				t.Errorf("%v, round %d: cached\n%s\nthe view\n%s", positions, round, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
		done()
		if want := "/usr/bin/new 0  eeee"; !slices.Contains(rows(plain), want) {
			t.Errorf("%v: no %q in\n%s", positions, want, strings.Join(rows(plain), "\n"))
		}
	}
}
