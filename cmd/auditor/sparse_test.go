package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor/index"
)

// sparseLayout is an OCI layout of one image whose one layer, made by GNU
// tar --sparse, holds an 8 TiB sparse file in some 10 KiB of blob.
func sparseLayout(t *testing.T) string {
	t.Helper()
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar")
	}
	src := t.TempDir()
	big := filepath.Join(src, "big")
	if err := os.WriteFile(big, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 8<<40); err != nil {
		t.Skipf("no 8 TiB sparse file here: %v", err)
	}
	tarFile := filepath.Join(t.TempDir(), "layer.tar")
	if out, err := exec.Command(tarBin, "--sparse", "--format=posix", "-C", src, "-cf", tarFile, "big").CombinedOutput(); err != nil {
		t.Skipf("tar --sparse: %v\n%s", err, out)
	}
	blob, err := os.ReadFile(tarFile)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(blob, types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "sparse"})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSignalStopsSparseHashing: a scan hashing the zeros of a huge sparse
// file (allowed by a max_layer_bytes raised to 1 PiB) stops at SIGINT,
// exits 130 and is recorded interrupted; it used to hash on for hours, deaf
// to signals. With the default cap the layer is refused at once.
func TestSignalStopsSparseHashing(t *testing.T) {
	t.Parallel()
	dir := sparseLayout(t)
	work := t.TempDir()
	db := filepath.Join(work, "i.db")
	cfg := filepath.Join(work, "config.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("db = %q\n[limits]\nmax_layer_bytes = %d\n", db, int64(1)<<50)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(auditorBinary(t), "scan", "--quiet", "--config", cfg, "oci:"+dir)
	var out bytes.Buffer // read after Wait only
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	proc := cmd.Process
	stuck := time.AfterFunc(2*time.Minute, func() { proc.Kill() }) // fail, not hang, if it never stops
	defer stuck.Stop()
	waitScanRunning(t, db, 60*time.Second)
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if d := time.Since(sent); d > 10*time.Second {
		t.Errorf("took %s to stop after SIGINT", d)
	}
	if c := exitCode(err); c != exitInterrupted {
		t.Fatalf("exit %d after SIGINT, want %d:\n%s", c, exitInterrupted, out.String())
	}
	if st := scanStatuses(t, db); len(st) != 1 || st[0] != index.ScanInterrupted {
		t.Errorf("scans after SIGINT: %v, want [interrupted]", st)
	}

	// The default cap refuses the layer before hashing anything.
	db2 := filepath.Join(work, "default.db")
	start := time.Now()
	cmd = exec.Command(auditorBinary(t), "scan", "--quiet", "--db", db2, "oci:"+dir)
	cmd.Dir = t.TempDir() // no config.toml there
	var got bytes.Buffer
	cmd.Stdout, cmd.Stderr = &got, &got
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	proc2 := cmd.Process
	stuck2 := time.AfterFunc(2*time.Minute, func() { proc2.Kill() })
	defer stuck2.Stop()
	err = cmd.Wait()
	if c := exitCode(err); c != exitScanErrors {
		t.Fatalf("default caps: exit %d, want %d:\n%s", c, exitScanErrors, got.String())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("refusing the layer took %s", d)
	}
	if !strings.Contains(got.String(), `"big" declares 8796093022208 bytes (the holes of a sparse file count)`) {
		t.Errorf("the error does not say why:\n%s", got.String())
	}
}
