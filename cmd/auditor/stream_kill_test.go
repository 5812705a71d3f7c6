package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/indextest"
)

// bigLayerEntries is the size of the layer TestKilledDuringBigLayer kills
// scans in: many chunks of the layer writer.
const bigLayerEntries = 150_000

// pushBigLayer pushes to test/stream-kill-* an image of one gzip layer of n
// small files, and returns the tag and the layer's digest.
func pushBigLayer(t *testing.T, n int) (string, string) {
	t.Helper()
	var raw bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&raw, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	for i := range n {
		body := fmt.Appendf(nil, "file %d\n", i%1000)
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/d%d/f%d", i/500, i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	blob := raw.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return fleettest.Push(t, "stream-kill", img).String(), d.String()
}

// pendingRows returns how many layers are being written in the database at
// path (0 when it cannot tell yet).
func pendingRows(path string) int {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(1000)")
	if err != nil {
		return 0
	}
	defer db.Close()
	var n int
	db.QueryRow(`SELECT count(*) FROM pending_layers`).Scan(&n)
	return n
}

// TestKilledDuringBigLayer kills scans with SIGKILL while they stream a layer
// of many chunks into the index: after each kill the database is intact and
// shows none of the layer (or all of it), and a re-run stores it whole,
// with consecutive entries, leaving no rows of the killed attempts.
func TestKilledDuringBigLayer(t *testing.T) {
	t.Parallel()
	tag, layer := pushBigLayer(t, bigLayerEntries)
	dir := t.TempDir()
	db := filepath.Join(dir, "big.db")
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "db = %q\ntargets = [%q]\n", db, tag), 0o600); err != nil {
		t.Fatal(err)
	}
	rng := seededRand(t, 2)
	killedMidLayer := 0
	for round := range 3 {
		cmd, out := scanCmd(t, cfg)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Kill once the layer's first chunks are written, a little later.
		deadline := time.Now().Add(20 * time.Second)
		var err error
		finished := false
	wait:
		for pendingRows(db) == 0 && time.Now().Before(deadline) {
			select {
			case err = <-exited:
				finished = true
				break wait
			case <-time.After(5 * time.Millisecond):
			}
		}
		if !finished {
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
			if pendingRows(db) > 0 {
				killedMidLayer++
			}
			cmd.Process.Signal(syscall.SIGKILL)
			err = <-exited
		}
		if exitCode(err) > 0 {
			t.Fatalf("round %d: scan exited %d before the kill:\n%s", round, exitCode(err), out)
		}
		indextest.IntegrityOK(t, db)
		if layerRows(t, db, layer, true) > 0 {
			break // a run finished the layer
		}
	}
	if killedMidLayer == 0 {
		t.Error("no kill landed while the layer was being written")
	}
	cmd, out := scanCmd(t, cfg)
	if err := cmd.Run(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	indextest.IntegrityOK(t, db)
	if n := layerRows(t, db, layer, false); n != bigLayerEntries {
		t.Fatalf("layer stored with %d files, want %d", n, bigLayerEntries)
	}
}

// layerRows checks what the index at path shows of layer: nothing, or (only
// when partial is false, or when a killed run finished it) the whole layer
// with seq 0..n-1 over consecutive entries and nothing else left.
func layerRows(t *testing.T, path, layer string, partial bool) int {
	t.Helper()
	d, err := index.OpenReadOnly(t.Context(), path)
	if err != nil {
		if partial {
			return 0 // killed before the schema was made
		}
		t.Fatal(err)
	}
	defer d.Close()
	var files, stored, maxSeq, entries, pending int
	err = d.Reader().QueryRow(`SELECT (SELECT count(*) FROM files WHERE layer_digest = ?1),
		(SELECT COALESCE(MAX(entries), 0) FROM layers WHERE digest = ?1),
		(SELECT COALESCE(MAX(seq), -1) FROM files WHERE layer_digest = ?1),
		(SELECT count(*) FROM entries), (SELECT count(*) FROM pending_layers)`, layer).Scan(&files, &stored, &maxSeq, &entries, &pending)
	if err != nil {
		t.Fatal(err)
	}
	if files != stored || (files > 0 && (files != bigLayerEntries || maxSeq != files-1)) {
		t.Errorf("layer %s: %d files, %d entries in its layers row, last seq %d", layer, files, stored, maxSeq)
	}
	if !partial && (entries != files || pending != 0) {
		t.Errorf("after a full run: %d entries stored for %d files, %d layers pending", entries, files, pending)
	}
	return files
}
