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
		w, err := db.beginLayer(ctx, digest, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range testLayer(digest, paths...).Entries {
			if err := w.Add(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
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
