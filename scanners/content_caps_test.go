package scanners

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/indextest"
)

// lookalikeLayer is a gzip layer of files, each of keys lines holding the
// same AWS access key id.
func lookalikeLayer(t testing.TB, files, keys int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	for f := range files {
		var body strings.Builder
		body.WriteString(strings.Repeat("AKIAQWERTYUIOP234567\n", keys))
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("keys/%02d.txt", f), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(body.Len())}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body.String())); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

// TestContentCaps: a file records its first matches up to the per-file
// cap, a layer stops recording at the per-layer cap, and every match not
// recorded is counted against its file.
func TestContentCaps(t *testing.T) {
	m, err := NewMatcherWith(DefaultPatterns(), MatcherOptions{MaxMatchesPerFile: 3, MaxMatchesPerLayer: 10})
	if err != nil {
		t.Fatal(err)
	}
	blob := lookalikeLayer(t, 5, 4)
	l, err := crawl.ReadLayer(context.Background(), bytes.NewReader(blob), crawl.LayerInput{Digest: "sha256:x", Scanners: []crawl.LayerScanner{m}}, crawl.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	perFile := map[int]int{}
	for _, c := range l.ContentMatches {
		perFile[c.Seq]++
		if c.PatternID != "aws-access-key-id" || c.Offset != int64(21*perFile[c.Seq]-21) {
			t.Errorf("match %+v: want the file's first keys, in order", c)
		}
	}
	var dropped []string
	for _, d := range l.ContentDropped {
		dropped = append(dropped, fmt.Sprintf("%d:%d", d.Seq, d.Dropped))
	}
	if fmt.Sprint(perFile) != "map[0:3 1:3 2:3 3:1]" || fmt.Sprint(dropped) != "[0:1 1:1 2:1 3:3 4:4]" {
		t.Errorf("recorded per file %v, dropped %v; want 3, 3, 3, 1 (the layer's 10) and the rest counted", perFile, dropped)
	}
	if a, b := m.Version(), testMatcher(t).Version(); a == b {
		t.Error("other caps, same version: layers would not be matched again")
	}
	if _, err := NewMatcherWith(DefaultPatterns(), MatcherOptions{MaxMatchesPerLayer: -1}); err == nil {
		t.Error("a negative cap was accepted")
	}
}

// TestContentLookalikeLayer: a 132 KB layer of AWS key look-alikes (48
// files of 1 MiB, 2.4M matches; it once made 2.5M rows, a 254 MB index
// and took 254 s) stores the default caps' 10,000 matches, at most 100 a
// file, and counts the others.
func TestContentLookalikeLayer(t *testing.T) {
	const files, keys = 48, 1 << 20 / 21
	blob := lookalikeLayer(t, files, keys)
	if len(blob) > 200<<10 {
		t.Fatalf("layer of %d bytes, want a small blob", len(blob))
	}
	ctx := context.Background()
	db, err := index.Open(ctx, filepath.Join(t.TempDir(), "i.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := crawl.ReadLayer(ctx, bytes.NewReader(blob), crawl.LayerInput{Digest: "sha256:lookalike", Scanners: []crawl.LayerScanner{testMatcher(t)}}, crawl.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutLayer(ctx, l); err != nil {
		t.Fatal(err)
	}
	got := indextest.Strings(t, db.Reader(), `SELECT (SELECT count(*) FROM content_matches) || ' ' || (SELECT max(n) FROM (SELECT count(*) AS n FROM content_matches GROUP BY seq)) || ' ' ||
		((SELECT count(*) FROM content_matches) + (SELECT sum(dropped) FROM content_overflow)) || ' ' || (SELECT count(*) FROM content_overflow)`)
	if want := fmt.Sprintf("[%d|100|%d|%d]", files*100, files*keys, files); strings.ReplaceAll(fmt.Sprint(got), " ", "|") != want {
		t.Errorf("content_matches rows, most in a file, matches found, content_overflow rows: %v, want %s", got, want)
	}
}
