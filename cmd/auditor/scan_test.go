package main

import (
	"database/sql"
	"fmt"
	"os"
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

// TestScanLocalTargetsFromConfig: docker-archive: and oci: targets work
// from config.toml as on the command line.
func TestScanLocalTargetsFromConfig(t *testing.T) {
	images := filepath.Join(fleettest.Dir(t), "images")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	body := fmt.Sprintf("db = %q\ntargets = [%q, %q]\n[rules]\nenabled = false\n", filepath.Join(dir, "l.db"),
		"docker-archive:"+filepath.Join(images, "docker-archive", "legacy-hello-1.0.tar"),
		"oci:"+filepath.Join(images, "oci")+":busybox-1.35")
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "scan", "--quiet", "--config", cfg)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCmd(t, "sql", "--db", filepath.Join(dir, "l.db"), "--format", "csv",
		"SELECT t.registry, t.tag, count(*) AS images FROM tags t JOIN images i ON i.digest = t.digest OR i.index_digest = t.digest GROUP BY 1, 2 ORDER BY 1, 2")
	want := "registry,tag,images\ndocker-archive,docker.io/legacy/hello:1.0,1\noci,busybox-1.35,2\n"
	if code != exitOK || out != want {
		t.Errorf("exit %d, got:\n%s%s\nwant:\n%s", code, out, errOut, want)
	}
}
