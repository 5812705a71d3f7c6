package index

import (
	"context"
	"path/filepath"
	"testing"
)

// TestHasDigests: a scan is told the md5 and sha1 of a content are stored
// exactly when they are: on the index of a first scan (answered from
// memory) as on one opened again (answered by the index), never for a
// content whose layer is not committed yet or that has none.
func TestHasDigests(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "d.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	write := func(digest string, paths []string, digested ...string) *LayerWriter {
		t.Helper()
		w := beginTestLayer(t, db, digest, paths...)
		for _, sha := range digested {
			w.AddDigests(ContentDigests{SHA256: sha, MD5: "m" + sha, SHA1: "s" + sha})
		}
		return w
	}
	a := write("sha256:a", []string{"/x", "/y"}, "aa/x")
	if a.HasDigests("aa/x") {
		t.Error("digests of a layer not committed yet are stored")
	}
	if err := a.Commit(ctx, &Layer{Digest: "sha256:a", Compression: "gzip"}); err != nil {
		t.Fatal(err)
	}
	b := write("sha256:b", []string{"/x", "/z"}, "aa/z")
	check := func(db string, w *LayerWriter) {
		t.Helper()
		for sha, want := range map[string]bool{"aa/x": true, "aa/y": false, "aa/z": false, "none": false} {
			if got := w.HasDigests(sha); got != want {
				t.Errorf("%s: HasDigests(%s) = %t, want %t", db, sha, got, want)
			}
		}
	}
	check("first scan", b)
	if err := b.Commit(ctx, &Layer{Digest: "sha256:b", Compression: "gzip"}); err != nil {
		t.Fatal(err)
	}
	if !b.HasDigests("aa/z") {
		t.Error("first scan: digests of a committed layer are not stored")
	}
	again, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	c, err := again.beginLayer(ctx, "sha256:c", 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort(ctx)
	if !c.HasDigests("aa/z") || c.HasDigests("aa/y") {
		t.Error("opened again: HasDigests does not say what the index holds")
	}
	if n := count(t, again, `SELECT count(*) FROM contents WHERE md5 IS NOT NULL`); n != 2 {
		t.Errorf("%d contents with digests, want 2", n)
	}
}

// TestHasDigestsFromMemory: on a first scan, HasDigests answers from memory
// even when a layer with no digest to store (an application layer, say) was
// committed before any file asked, as the layers of a scan are read at once;
// it asked the index for every managed file of the scan before (0.5-0.75
// CPU-s of the big fleet's cold scan).
func TestHasDigestsFromMemory(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	begin := func(digest string, paths ...string) *LayerWriter {
		t.Helper()
		return beginTestLayer(t, db, digest, paths...)
	}
	base := begin("sha256:base", "/usr/bin/ls")
	app := begin("sha256:app", "/opt/app/server")
	if err := app.Commit(ctx, &Layer{Digest: "sha256:app", Compression: "gzip"}); err != nil {
		t.Fatal(err)
	}
	if base.HasDigests("aa/ls") {
		t.Error("digests of a content never stored are stored")
	}
	if _, ok := db.digestsKept("aa/ls"); !ok {
		t.Error("a first scan's HasDigests queries the index after a layer without digests was committed")
	}
	base.AddDigests(ContentDigests{SHA256: "aa/ls", MD5: "m", SHA1: "s"})
	if err := base.Commit(ctx, &Layer{Digest: "sha256:base", Compression: "gzip"}); err != nil {
		t.Fatal(err)
	}
	next := begin("sha256:next", "/usr/bin/cp")
	defer next.Abort(ctx)
	if have, ok := db.digestsKept("aa/ls"); !ok || !have || !next.HasDigests("aa/ls") {
		t.Errorf("after the commit: from memory %t, held %t; want both", ok, have)
	}
}

// beginTestLayer begins the layer digest in db with testLayer's entries at
// paths, not committed.
func beginTestLayer(t *testing.T, db *DB, digest string, paths ...string) *LayerWriter {
	t.Helper()
	ctx := context.Background()
	w, err := db.beginLayer(ctx, digest, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range testLayer(digest, paths...).Entries {
		if err := w.Add(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	return w
}
