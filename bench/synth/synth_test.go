package synth_test

import (
	"context"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/bench/probe"
	"github.com/auditor-dev/auditor/bench/synth"
	"github.com/auditor-dev/auditor/index"
)

var tiny = synth.Spec{Seed: 7, Families: 2, Bases: 2, BaseFiles: 300, Stacks: 2, StackFiles: 400, Apps: 5, AppFiles: 200, Tags: 2, TagFiles: 30}

func TestDeterministic(t *testing.T) {
	a, b := tiny.AppLayer(3), tiny.AppLayer(3)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same spec gave two different application layers")
	}
	if tiny.AppLayer(3).Digest == tiny.AppLayer(4).Digest {
		t.Fatal("two applications share a layer digest")
	}
}

// TestLayersLookLikeTars checks what the writer and Overlay rely on: clean
// absolute paths in tar order, each parent directory listed before its
// content, content hashes on regular files only.
func TestLayersLookLikeTars(t *testing.T) {
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	layers := []*auditor.Layer{tiny.BaseLayer(0), tiny.BaseLayer(1), tiny.StackLayer(0), tiny.StackLayer(1), tiny.AppLayer(0), tiny.TagLayer(0, 1)}
	var whiteouts, opaques, setuid int
	for _, l := range layers {
		seen := map[string]bool{"/": true}
		for i, e := range l.Entries {
			if e.Path != path.Clean(e.Path) || !path.IsAbs(e.Path) {
				t.Fatalf("layer %s entry %d: path %q is not clean and absolute", l.Digest, i, e.Path)
			}
			if !seen[path.Dir(e.Path)] {
				t.Fatalf("layer %s: %q comes before its parent directory", l.Digest, e.Path)
			}
			seen[e.Path] = true
			switch e.Type {
			case auditor.TypeFile, auditor.TypeHardlink:
				if !hex64.MatchString(e.SHA256) {
					t.Fatalf("layer %s: %s %q has sha256 %q", l.Digest, e.Type, e.Path, e.SHA256)
				}
			default:
				if e.SHA256 != "" {
					t.Fatalf("layer %s: %s %q has a sha256", l.Digest, e.Type, e.Path)
				}
			}
			switch {
			case e.Type == auditor.TypeWhiteout:
				whiteouts++
			case e.Type == auditor.TypeOpaque:
				opaques++
			case e.Mode&0o6000 != 0:
				setuid++
			}
		}
	}
	if whiteouts == 0 || opaques == 0 || setuid == 0 {
		t.Fatalf("want whiteouts, opaque markers and setuid files; have %d, %d, %d", whiteouts, opaques, setuid)
	}
}

// TestGenerate writes a small fleet through the real writer and checks it
// through the public views.
func TestGenerate(t *testing.T) {
	ctx := context.Background()
	db, err := index.Open(ctx, filepath.Join(t.TempDir(), "synth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := tiny.Generate(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(tiny.Images()); res.Images != want {
		t.Fatalf("wrote %d images, want %d", res.Images, want)
	}
	var rows, images, visible int64
	r := db.Reader()
	if err := r.QueryRowContext(ctx, `SELECT count(*) FROM files`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != res.Rows {
		t.Fatalf("files view has %d rows, Generate wrote %d", rows, res.Rows)
	}
	if err := r.QueryRowContext(ctx, `SELECT count(DISTINCT digest) FROM images`).Scan(&images); err != nil {
		t.Fatal(err)
	}
	if images != int64(tiny.Images()) {
		t.Fatalf("images view has %d images, want %d", images, tiny.Images())
	}
	// Every image has a base layer, so /usr/bin/passwd, visible, once each.
	if err := r.QueryRowContext(ctx, `SELECT count(DISTINCT image_digest) FROM image_files WHERE path = '/usr/bin/passwd' AND visible`).Scan(&visible); err != nil {
		t.Fatal(err)
	}
	if visible != images {
		t.Fatalf("/usr/bin/passwd visible in %d of %d images", visible, images)
	}
	n, err := probe.Run(ctx, r, probe.Rules[0])
	if err != nil {
		t.Fatal(err)
	}
	if n < images*4 {
		t.Fatalf("setuid rule found %d rows; each image has at least 4 setuid or setgid files", n)
	}
}

func TestRelease(t *testing.T) {
	s := synth.Scaled(100_000)
	old := s.TagLayer(3, 1)
	oldTag, oldImg := s.Image(3, 1)
	l, tag, img := s.Release(3, 1, 1)
	if tag != oldTag || img.Digest == oldImg.Digest || l.Digest == old.Digest || img.Layers[len(img.Layers)-1] != l.Digest {
		t.Fatalf("release 1: tag %q (was %q), image %s (was %s), top layer %s of %s", tag, oldTag, img.Digest, oldImg.Digest, img.Layers[len(img.Layers)-1], l.Digest)
	}
	if len(l.Entries) != len(old.Entries) {
		t.Fatalf("release has %d entries, the tag's layer %d", len(l.Entries), len(old.Entries))
	}
	changed := 0
	for i, e := range l.Entries {
		if e.Path != old.Entries[i].Path {
			t.Fatalf("entry %d: %s, was %s", i, e.Path, old.Entries[i].Path)
		}
		if e.SHA256 != old.Entries[i].SHA256 {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("no content changed")
	}
	if l2, _, _ := s.Release(3, 1, 2); l2.Digest == l.Digest {
		t.Fatal("releases 1 and 2 have one digest")
	}
	if again, _, _ := s.Release(3, 1, 1); again.Digest != l.Digest || again.Entries[0].SHA256 != l.Entries[0].SHA256 {
		t.Fatal("release 1 is not deterministic")
	}
}
