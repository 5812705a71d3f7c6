package queries

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/queries/querytest"
)

func changesOf(t *testing.T, im *Image, entries []Entry, layer int64) string {
	t.Helper()
	var lines []string
	for _, c := range LayerChanges(entries)[layer] {
		lines = append(lines, c.Kind+" "+c.Entry.Path)
	}
	return strings.Join(lines, "\n")
}

func TestLayerChangesSmall(t *testing.T) {
	ctx := context.Background()
	db := small(t)
	im := resolve(t, db, "a.test/app:2.0", "")
	entries, err := Entries(ctx, db, im, "/", false)
	if err != nil {
		t.Fatal(err)
	}
	want0 := "added /bin\nadded /bin/sh\nadded /etc\nadded /etc/motd\nadded /etc/passwd"
	if got := changesOf(t, im, entries, 0); got != want0 {
		t.Errorf("layer 0:\n%s\nwant:\n%s", got, want0)
	}
	want1 := "deleted /etc/motd\nmodified /etc/passwd\nadded /usr\nadded /usr/bin\nadded /usr/bin/miner"
	if got := changesOf(t, im, entries, 1); got != want1 {
		t.Errorf("layer 1:\n%s\nwant:\n%s", got, want1)
	}
	hist, err := History(ctx, db, im)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[1].Added != 3 || hist[1].Modified != 1 || hist[1].Deleted != 1 || hist[1].LayerDigest.V != querytest.LayerNew {
		t.Errorf("history: %+v", hist)
	}
}

// TestLayerChangesCornerCases checks the changes of the fleet's file-level
// torture image against what MANIFEST.md says each layer does.
func TestLayerChangesCornerCases(t *testing.T) {
	ctx := context.Background()
	db := fleet(t)
	im := resolve(t, db, "edge/corner-cases:v1", "")
	entries, err := Entries(ctx, db, im, "/", false)
	if err != nil {
		t.Fatal(err)
	}
	ch := LayerChanges(entries)
	kinds := func(layer int64) map[string]string {
		m := map[string]string{}
		for _, c := range ch[layer] {
			m[c.Entry.Path] = c.Kind
		}
		return m
	}
	l2 := kinds(2)
	for p, k := range map[string]string{
		"/opt/app/data/a.txt":          Deleted,  // whiteout of a layer-1 file
		"/etc/motd":                    Deleted,  // whiteout of a base file
		"/usr/share/doc/apt":           Deleted,  // whiteout of a base directory...
		"/usr/share/doc/apt/copyright": Deleted,  // ...and what was in it
		"/opt/app/config":              Modified, // file replaced by a directory
		"/opt/app/config/app.yaml":     Added,
		"/opt/app/etc":                 Modified, // directory replaced by a file...
		"/opt/app/etc/app.conf":        Deleted,  // ...which removes its contents
		"/opt/app/data/keep/c.txt":     Modified, // mode only
		"/opt/app/current":             Modified, // symlink retargeted
		"/opt/app/data/very-long-directory-name-number-one-xxxxxxxxxxxxxxxxxxxx": "",
	} {
		if l2[p] != k {
			t.Errorf("layer 2 %s: %q, want %q", p, l2[p], k)
		}
	}
	l3 := kinds(3)
	if l3["/opt/app/data/fresh.txt"] != Added || l3["/opt/app/data/b.txt"] != Deleted || l3["/opt/app/data/keep"] != Deleted || l3["/opt/app/data"] != "" {
		t.Errorf("layer 3 (opaque /opt/app/data): %v", l3)
	}
	if len(ch[4]) != 0 {
		t.Errorf("the empty layer changed %v", ch[4])
	}
	// What each layer adds, minus what later layers delete or overwrite,
	// is what the image shows.
	visible := map[string]bool{}
	for _, e := range entries {
		if e.Visible {
			visible[e.Path] = true
		}
	}
	state := map[string]bool{}
	layers := make([]int64, 0, len(ch))
	for l := range ch {
		layers = append(layers, l)
	}
	sort.Slice(layers, func(i, j int) bool { return layers[i] < layers[j] })
	for _, l := range layers {
		for _, c := range ch[l] {
			state[c.Entry.Path] = c.Kind != Deleted
		}
	}
	for p, on := range state {
		if on != visible[p] {
			t.Errorf("%s: replaying the layer changes gives present=%v, the index says visible=%v", p, on, visible[p])
		}
	}
}

func TestLs(t *testing.T) {
	ctx := context.Background()
	db := fleet(t)
	im := resolve(t, db, "edge/corner-cases:v1", "")
	res, err := Ls(ctx, db, im, LsOptions{Path: "/opt/app/data", Layer: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 {
		t.Errorf("ls /opt/app/data: %d rows, want the directory and fresh.txt", len(res.Rows))
	}
	all, err := Ls(ctx, db, im, LsOptions{Path: "/opt/app/data", AllLayers: true, Layer: -1})
	if err != nil || len(all.Rows) <= len(res.Rows) {
		t.Fatalf("ls --all-layers: %v rows, %v", len(all.Rows), err)
	}
	// Through symlinks: /bin -> usr/bin in the Debian base.
	for p, want := range map[string]string{"/bin/bash": "/usr/bin/bash", "/bin/": "/usr/bin"} {
		res, err := Ls(ctx, db, im, LsOptions{Path: p, Layer: -1})
		if err != nil || len(res.Rows) == 0 || res.Rows[0][6] != want {
			t.Errorf("ls %s: %v, want %s first", p, err, want)
		}
	}
	if res, err := Ls(ctx, db, im, LsOptions{Path: "/bin", Layer: -1}); err != nil || len(res.Rows) != 1 || res.Rows[0][5] != "/bin -> usr/bin" {
		t.Errorf("ls /bin (the link itself): %v %v", res, err)
	}
	if _, err := Ls(ctx, db, im, LsOptions{Path: "/no/such", Layer: -1}); !errors.Is(err, ErrNotInImage) {
		t.Errorf("ls of a missing path: %v", err)
	}
	if _, err := Ls(ctx, db, im, LsOptions{Path: "/", Layer: 5}); err == nil || !strings.Contains(err.Error(), "has 5 layers") {
		t.Errorf("ls --layer 5: %v", err)
	}
}

func TestDiff(t *testing.T) {
	ctx := context.Background()
	db := fleet(t)
	a := resolve(t, db, "corp/billing-worker:1.0", "")
	b := resolve(t, db, "corp/billing-worker:2.0", "")
	rows, err := Diff(ctx, db, a, b, "/")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Change != "changed" || rows[0].Path != "/usr/local/bin/billing-worker" || fmt.Sprint(rows[0].What) != "[sha256]" {
		t.Errorf("billing-worker 1.0 -> 2.0: %+v (only the binary differs)", rows)
	}
	deb := resolve(t, db, "library/debian:bookworm", "")
	cc := resolve(t, db, "edge/corner-cases:v1", "")
	rows, err = Diff(ctx, db, deb, cc, "/")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.Path] = r.Change + " " + strings.Join(r.What, ",")
	}
	for p, want := range map[string]string{
		"/etc/motd":                "removed ",
		"/usr/share/doc/apt":       "removed ",
		"/opt/app/data/fresh.txt":  "added ",
		"/opt/app/bin/suid-helper": "added ",
	} {
		if got[p] != want {
			t.Errorf("debian -> corner-cases %s: %q, want %q", p, got[p], want)
		}
	}
	if _, ok := got["/"]; ok {
		t.Error("the root directory reported")
	}
	if rows, err := Diff(ctx, db, deb, deb, "/"); err != nil || len(rows) != 0 {
		t.Errorf("an image against itself: %v %v", rows, err)
	}
}
