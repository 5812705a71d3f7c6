package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	_ "modernc.org/sqlite"

	"github.com/auditor-dev/auditor/internal/indextest"

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
		{"scan", "--db", filepath.Join(dir, "x.db"), "--jobs", "-5", "127.0.0.1:1"},
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

// TestDatabasePathErrors: a --db that is a directory, or in a directory that
// does not exist, is named as such (not "disk I/O error", nor a lock-file
// error), before anything is contacted or created.
func TestDatabasePathErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "a.db")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"scan", "--db", dir, "127.0.0.1:1"}, exitUsage, "--db " + dir + " is a directory"},
		{[]string{"scan", "--db", missing, "127.0.0.1:1"}, exitUsage, filepath.Join(dir, "no", "such") + " does not exist"},
		{[]string{"rules", "run", "--db", dir}, exitUsage, "is a directory"},
		{[]string{"images", "--db", dir}, exitUsage, "is a directory"},
		{[]string{"cat", "--db", dir, "x:1", "/etc/passwd"}, exitFailure, "is a directory"},
		{[]string{"scan", "--jobs", "-5", "--db", filepath.Join(dir, "x.db"), "127.0.0.1:1"}, exitUsage, "--jobs -5"},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "lock") {
			t.Errorf("%q: exit %d, %q; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Error("a refused scan created its database")
	}
	// Another application's SQLite database is refused, untouched.
	other := filepath.Join(dir, "other.db")
	c, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(`CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	before, _ := os.ReadFile(other)
	_, errOut, code := runCmd(t, "scan", "--db", other, "127.0.0.1:1")
	if after, _ := os.ReadFile(other); code != exitFailure || !strings.Contains(errOut, "not an auditor database") || !bytes.Equal(before, after) {
		t.Errorf("scan into another application's database: exit %d, %q, changed %v", code, errOut, !bytes.Equal(before, after))
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

// TestScanCommandLine: flags after the targets, a JSON report alone on
// stdout, --platform winning over a registry's platforms, exit 1 when
// nothing is reachable, and settings checked before any scan is recorded.
func TestScanCommandLine(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	reg := strings.TrimPrefix(srv.URL, "http://")
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	tag, err := name.NewTag(reg + "/team/multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, mutate.AppendManifests(empty.Index, adds...)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	cfg := filepath.Join(dir, "config.toml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf("[registries.%q]\nplatforms = [\"linux/amd64\"]\n[retry]\nattempts = 1\n", reg))

	out, errOut, code := runCmd(t, "scan", reg, "--config", cfg, "--db", db, "--quiet", "--format", "json", "--platform", "linux/arm64")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var rep struct {
		ScanID int64 `json:"scan_id"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.ScanID != 1 {
		t.Errorf("stdout is not the JSON report alone (%v):\n%s", err, out)
	}
	if !strings.Contains(errOut, "scan 1: ok") {
		t.Errorf("summary not on stderr:\n%s", errOut)
	}
	if got := dbStrings(t, db, `SELECT architecture FROM images`); strings.Join(got, ",") != "arm64" {
		t.Errorf("platforms indexed with --platform linux/arm64 over the config's linux/amd64: %v", got)
	}

	_, errOut, code = runCmd(t, "scan", "127.0.0.1:1", "--config", cfg, "--db", db, "--quiet")
	if code != exitFailure || !strings.Contains(errOut, "nothing reachable") {
		t.Errorf("unreachable registry: exit %d, want %d\n%s", code, exitFailure, errOut)
	}

	write(fmt.Sprintf("[registries.%q]\ninclude = [\"[abc\"]\n", reg))
	_, errOut, code = runCmd(t, "scan", reg, "--config", cfg, "--db", db, "--quiet")
	if code != exitFailure || !strings.Contains(errOut, "config "+cfg) || !strings.Contains(errOut, `"[abc"`) {
		t.Errorf("bad glob in config: exit %d, want %d naming the file\n%s", code, exitFailure, errOut)
	}
	_, errOut, code = runCmd(t, "scan", reg, "--db", db, "--output", filepath.Join(dir, "no/such/dir/r.json"))
	if code != exitUsage || !strings.Contains(errOut, "no such directory") {
		t.Errorf("--output into a missing directory: exit %d, want %d\n%s", code, exitUsage, errOut)
	}
	if got := dbStrings(t, db, `SELECT count(*) FROM scans`); strings.Join(got, "") != "2" {
		t.Errorf("scans recorded: %v, want 2 (the refused commands record none)", got)
	}
}

// dbStrings runs q on a read-only connection to the index at path.
func dbStrings(t *testing.T, path, q string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return indextest.Strings(t, db, q)
}
