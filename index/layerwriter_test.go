package index

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/auditor-dev/auditor/crawl"
)

// bigEntries is a layer's worth of entries spanning several chunks: files
// with their own content, a hardlink after every file (to a file just
// before, in the same chunk), and hardlinks to /f0, written chunks earlier.
func bigEntries(n int) []Entry {
	var es []Entry
	for i := 0; len(es) < n; i++ {
		switch {
		case i%10 == 9:
			es = append(es, Entry{Path: fmt.Sprintf("/l%d", i), Type: TypeHardlink, Linkname: "f0", Kind: KindNone})
		case i%10 == 8:
			es = append(es, Entry{Path: fmt.Sprintf("/h%d", i), Type: TypeHardlink, Linkname: fmt.Sprintf("./f%d", i-1), Kind: KindNone})
		default:
			es = append(es, Entry{Path: fmt.Sprintf("/f%d", i), Type: TypeFile, Mode: 0o644, SHA256: fmt.Sprintf("%064x", i), Kind: KindOther})
		}
	}
	return es
}

func writeLayer(t *testing.T, db *DB, w crawl.LayerWriter, es []Entry) {
	t.Helper()
	for i, e := range es {
		if err := w.Add(context.Background(), e); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
}

// checkLayer fails t unless the files view shows digest's entries as es,
// in order, with hardlinks resolved.
func checkLayer(t *testing.T, db *DB, digest string, es []Entry) {
	t.Helper()
	rows, err := db.Reader().Query(`SELECT path, seq, COALESCE(sha256, '') FROM files WHERE layer_digest = ? ORDER BY seq`, digest)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := map[string]string{}
	i := 0
	for ; rows.Next(); i++ {
		var p, sum string
		var seq int
		if err := rows.Scan(&p, &seq, &sum); err != nil {
			t.Fatal(err)
		}
		if i >= len(es) {
			continue
		}
		e := es[i]
		if e.Type == TypeFile {
			want[e.Path] = e.SHA256
		}
		wantSum := e.SHA256
		if e.Type == TypeHardlink {
			wantSum = want[filepath.Clean("/"+e.Linkname)]
		}
		if p != e.Path || seq != i || sum != wantSum {
			t.Fatalf("%s entry %d: %s seq %d sha256 %q, want %s seq %d sha256 %q", digest, i, p, seq, sum, e.Path, i, wantSum)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(es) {
		t.Fatalf("%s: %d rows in files, want %d", digest, i, len(es))
	}
	var first, last, n int64
	if err := db.Reader().QueryRow(`SELECT first_entry, last_entry, entries FROM layers WHERE digest = ?`, digest).Scan(&first, &last, &n); err != nil {
		t.Fatal(err)
	}
	if last-first+1 != n || n != int64(len(es)) {
		t.Errorf("%s: entries %d..%d for %d entries", digest, first, last, n)
	}
}

// TestLayerWriterInterleaved writes two layers of several chunks each at the
// same time: neither is visible before its Commit, and each ends with
// consecutive entry ids in tar order and its hardlinks resolved, also
// across chunks.
func TestLayerWriterInterleaved(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if err := db.PutLayer(ctx, testLayer("sha256:small0", "/x")); err != nil {
		t.Fatal(err)
	}
	a := bigEntries(3*chunkEntries + 17)
	b := bigEntries(2*chunkEntries + 5)
	wa, err := db.BeginLayer(ctx, "sha256:a", 5_000_000)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := db.BeginLayer(ctx, "sha256:b", 5_000_000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range max(len(a), len(b)) {
		if i < len(a) {
			if err := wa.Add(ctx, a[i]); err != nil {
				t.Fatal(err)
			}
		}
		if i < len(b) {
			if err := wb.Add(ctx, b[i]); err != nil {
				t.Fatal(err)
			}
		}
		if i == chunkEntries+1 {
			// Small layers stored meanwhile take ids outside the reservations.
			if err := db.PutLayer(ctx, testLayer("sha256:small1", "/x", "/y")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// a handed 3 chunks to be written and b 2, each once the previous one
	// was written: at least 2 of a's and 1 of b's are.
	if n := count(t, db, `SELECT count(*) FROM entries`); n < 3*chunkEntries {
		t.Fatalf("%d entries written before Commit, want the full chunks", n)
	}
	if n := count(t, db, `SELECT count(*) FROM files`); n != 3 {
		t.Errorf("%d rows in files before Commit, want the 3 of the small layers", n)
	}
	for _, d := range []string{"sha256:a", "sha256:b"} {
		if ok, _ := db.HasLayer(ctx, d); ok {
			t.Errorf("HasLayer(%s) before Commit", d)
		}
	}
	if err := wb.Commit(ctx, &Layer{Digest: "sha256:b", Compression: "gzip"}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutLayer(ctx, testLayer("sha256:small2", "/z")); err != nil {
		t.Fatal(err)
	}
	if err := wa.Commit(ctx, &Layer{Digest: "sha256:a", Compression: "gzip"}); err != nil {
		t.Fatal(err)
	}
	checkLayer(t, db, "sha256:a", a)
	checkLayer(t, db, "sha256:b", b)
	checkLayer(t, db, "sha256:small1", testLayer("sha256:small1", "/x", "/y").Entries)
	if n := count(t, db, `SELECT count(*) FROM pending_layers`); n != 0 {
		t.Errorf("%d reservations left after Commit", n)
	}
	if n := count(t, db, `SELECT count(*) FROM entries`); n != len(a)+len(b)+4 {
		t.Errorf("%d entries, want %d", n, len(a)+len(b)+4)
	}
}

// TestLayerWriterAbortAndCrash: an aborted layer leaves no row; one left
// unfinished by a process that died stays invisible, its ids are not
// reused, and the next BeginScan removes its rows.
func TestLayerWriterAbortAndCrash(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	es := bigEntries(2*chunkEntries + 3)
	w, err := db.BeginLayer(ctx, "sha256:aborted", 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	writeLayer(t, db, w, es)
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM entries`) + count(t, db, `SELECT count(*) FROM pending_layers`); n != 0 {
		t.Errorf("%d rows left by an aborted layer", n)
	}
	if err := w.Commit(ctx, &Layer{Digest: "sha256:aborted"}); err == nil {
		t.Error("Commit after Abort succeeded")
	}

	// "Crash": a writer never committed nor aborted, its database closed.
	w, err = db.BeginLayer(ctx, "sha256:killed", 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	writeLayer(t, db, w, es)
	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := count(t, db, `SELECT count(*) FROM files`); n != 0 {
		t.Errorf("%d rows of an unfinished layer in files", n)
	}
	if ok, _ := db.HasLayer(ctx, "sha256:killed"); ok {
		t.Error("HasLayer of an unfinished layer")
	}
	// Before the cleanup, new layers do not take the reserved ids.
	if err := db.PutLayer(ctx, testLayer("sha256:after", "/x", "/y")); err != nil {
		t.Fatal(err)
	}
	checkLayer(t, db, "sha256:after", testLayer("sha256:after", "/x", "/y").Entries)
	if _, err := db.BeginScan(ctx, "test", "test"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM entries`); n != 2 {
		t.Errorf("%d entries after BeginScan, want the 2 of the finished layer", n)
	}
	if n := count(t, db, `SELECT count(*) FROM pending_layers`); n != 0 {
		t.Errorf("%d reservations after BeginScan", n)
	}
	// The layer is read again, whole.
	w, err = db.BeginLayer(ctx, "sha256:killed", 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	writeLayer(t, db, w, es)
	if err := w.Commit(ctx, &Layer{Digest: "sha256:killed", Compression: "none"}); err != nil {
		t.Fatal(err)
	}
	checkLayer(t, db, "sha256:killed", es)
}

// TestLayerWriterContentMatches: matches in entries of any chunk are stored
// with their absolute seq, and a layer read again for its content only
// keeps its entries and gets the new matches.
func TestLayerWriterContentMatches(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	es := bigEntries(2*chunkEntries + 3)
	seqs := []int{0, chunkEntries - 1, chunkEntries, 2*chunkEntries + 1}
	put := func(version string) {
		t.Helper()
		w, err := db.BeginLayer(ctx, "sha256:c", 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		next := 0
		for i, e := range es {
			if err := w.Add(ctx, e); err != nil {
				t.Fatal(err)
			}
			if next < len(seqs) && seqs[next] == i {
				w.AddMatch(ContentMatch{Seq: i, PatternID: "p-" + version, Offset: int64(i), Excerpt: "x"})
				next++
			}
		}
		if err := w.Commit(ctx, &Layer{Digest: "sha256:c", Compression: "gzip", Scans: []LayerScan{{Scanner: ContentScanner, Version: version}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"v1", "v2"} {
		put(v)
		rows, err := db.Reader().Query(`SELECT path, seq, pattern_id, patterns_version FROM content_matches ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var p, pid, pv string
			var seq int
			if err := rows.Scan(&p, &seq, &pid, &pv); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %d %s %s", p, seq, pid, pv))
		}
		rows.Close()
		var want []string
		for _, s := range seqs {
			want = append(want, fmt.Sprintf("%s %d p-%s %s", es[s].Path, s, v, v))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("content matches after %s:\n got %v\nwant %v", v, got, want)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM entries`); n != len(es) {
		t.Errorf("%d entries after a re-read for content, want %d", n, len(es))
	}
}

// TestLayerWriterMaxEntries: a layer past its reservation is refused.
func TestLayerWriterMaxEntries(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	w, err := db.BeginLayer(ctx, "sha256:m", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(ctx)
	for i := range 4 {
		err = w.Add(ctx, Entry{Path: fmt.Sprintf("/%d", i), Type: TypeDir, Kind: KindNone})
	}
	if err == nil {
		t.Error("a fourth entry in a layer of at most 3 was accepted")
	}
}

// TestLayerWriterCancelled: a chunk write that fails (its context ended)
// fails the layer: a later Add or Commit says so, and Abort leaves no row.
func TestLayerWriterCancelled(t *testing.T) {
	db := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := db.BeginLayer(ctx, "sha256:cancelled", 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	es := bigEntries(3*chunkEntries + 1)
	var failed error
	for i, e := range es {
		if i == chunkEntries+1 {
			cancel() // the second chunk's write runs with this context
		}
		if failed = w.Add(ctx, e); failed != nil {
			break
		}
	}
	if failed == nil {
		failed = w.Commit(ctx, &Layer{Digest: "sha256:cancelled"})
	}
	if !errors.Is(failed, context.Canceled) {
		t.Errorf("layer written with a cancelled context: %v", failed)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM entries`) + count(t, db, `SELECT count(*) FROM pending_layers`); n != 0 {
		t.Errorf("%d rows left by a failed layer", n)
	}
}
