package main

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/auditor-dev/auditor/internal/fleettest"
)

func TestScanCommand(t *testing.T) {
	reg := fleettest.Registry(t)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	out, errOut, code := runCmd(t, "scan", "--quiet", "--db", dbPath, reg+"/library/debian:bookworm", reg+"/tools/busybox:1.35")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"scan 1: ok", "images          3", "layers read     3", "errors          0"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if errOut != "" {
		t.Errorf("--quiet printed on stderr: %s", errOut)
	}

	// A broken image: exit 3, the error named, the rest indexed, the scan recorded.
	ref, img := fleettest.PushRandom(t, "cli-broken", 1)
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	fleettest.CorruptBlob(t, d)
	out, errOut, code = runCmd(t, "scan", "--quiet", "--db", dbPath, ref.String(), reg+"/apps/redis:7.0")
	if code != exitScanErrors {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitScanErrors, out, errOut)
	}
	if !strings.Contains(errOut, ref.Context().String()+":v1: layer "+d.String()) {
		t.Errorf("stderr does not name the image and layer:\n%s", errOut)
	}
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var status string
	var images, errs int
	if err := db.QueryRow(`SELECT status, images, errors FROM scans WHERE id = 2`).Scan(&status, &images, &errs); err != nil {
		t.Fatal(err)
	}
	if status != "errors" || images != 1 || errs != 1 {
		t.Errorf("scan 2 recorded as %s, %d images, %d errors", status, images, errs)
	}
}

func TestScanUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"scan", "--db", filepath.Join(dir, "x.db"), "nginx"},
		{"scan", "--db", filepath.Join(dir, "x.db"), "--jobs"},
		{"scan", "--config", filepath.Join(dir, "none.toml")},
		{"frobnicate"},
		{},
	} {
		_, errOut, code := runCmd(t, args...)
		if code == exitOK || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
}
