package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func pushLayers(t *testing.T, ref string, files ...map[string][]byte) {
	t.Helper()
	var ls []v1.Layer
	for _, f := range files {
		l, err := crane.Layer(f)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}

// testRegistry starts go-containerregistry's in-process registry for the
// test and returns its host:port.
func testRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestScanFailOn: a second scan with nothing changed reports no new
// finding; an image that adds /etc/ld.so.preload is exactly one new
// finding, and --fail-on high makes the scan exit 4.
func TestScanFailOn(t *testing.T) {
	reg := testRegistry(t)
	base := map[string][]byte{"etc/passwd": []byte("root:x:0:0::/root:/bin/sh\n"), "usr/bin/ls": []byte("\x7fELF ls")}
	pushLayers(t, reg+"/team/app:1", base)
	db := filepath.Join(t.TempDir(), "a.db")

	for i := 1; i <= 2; i++ {
		code, out, stderr := runCLI(t, "scan", "--db", db, "--quiet", "--fail-on", "high", reg)
		if code != exitOK || !strings.Contains(out, "new findings (scan ") || !strings.Contains(out, "): none") {
			t.Fatalf("scan %d: exit %d\n%s%s", i, code, out, stderr)
		}
		if stderr != "" || !strings.Contains(out, " rules in ") {
			t.Errorf("scan %d --quiet: stderr %q; the rules' counts belong in the report:\n%s", i, stderr, out)
		}
	}
	pushLayers(t, reg+"/team/app:2", base, map[string][]byte{"etc/ld.so.preload": []byte("/usr/lib/libhook.so\n")})
	code, out, stderr := runCLI(t, "scan", "--db", db, "--quiet", "--fail-on", "high", reg)
	if code != exitFindings {
		t.Fatalf("scan with a bad file: exit %d, want %d\n%s%s", code, exitFindings, out, stderr)
	}
	if !strings.Contains(out, "new findings (scan 3): 1\n") || !strings.Contains(out, "persistence-point") || !strings.Contains(out, "/etc/ld.so.preload") {
		t.Errorf("report:\n%s", out)
	}
	// --quiet keeps the one line that explains the exit status.
	if !strings.Contains(stderr, "1 new findings at or above high") {
		t.Errorf("scan --quiet exiting %d: stderr %q does not say why", exitFindings, stderr)
	}

	// rules run re-evaluates the latest scan: the same finding is still new.
	code, out, stderr = runCLI(t, "rules", "run", "--db", db, "--format", "json")
	if code != exitOK {
		t.Fatalf("rules run: exit %d\n%s", code, stderr)
	}
	var rep struct {
		ScanID   int64 `json:"scan_id"`
		Findings []struct {
			RuleID, Path, State string
			Tags                []string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("rules run --format json: %v\n%s", err, out)
	}
	if rep.ScanID != 3 || len(rep.Findings) != 1 || rep.Findings[0].Path != "/etc/ld.so.preload" || rep.Findings[0].State != "new" ||
		len(rep.Findings[0].Tags) != 1 || rep.Findings[0].Tags[0] != "team/app:2" {
		t.Errorf("rules run: %+v", rep)
	}
	if code, _, _ := runCLI(t, "rules", "run", "--db", db, "--fail-on", "critical"); code != exitOK {
		t.Errorf("rules run --fail-on critical: exit %d, want 0 (the finding is high)", code)
	}
	if code, _, _ := runCLI(t, "rules", "run", "--db", db, "--fail-on", "high", "--format", "sarif"); code != exitFindings {
		t.Errorf("rules run --fail-on high: exit %d, want %d", code, exitFindings)
	}
	if code, _, stderr := runCLI(t, "scan", "--db", db, "--fail-on", "severe", reg); code != exitUsage {
		t.Errorf("--fail-on severe: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
	// The same mistake in the config is a config error naming the file.
	badCfg := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(badCfg, []byte("[rules]\nfail_on = \"severe\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"scan", "--db", db, "--config", badCfg, reg}, {"rules", "run", "--db", db, "--config", badCfg}} {
		if code, _, stderr := runCLI(t, args...); code != exitFailure || !strings.Contains(stderr, badCfg) || !strings.Contains(stderr, "rules.fail_on") {
			t.Errorf("%s with rules.fail_on = severe: exit %d, %q; want %d naming %s", args[0], code, stderr, exitFailure, badCfg)
		}
	}

	// rules test prints a file's rows; rules list shows the pack.
	rf := filepath.Join(t.TempDir(), "mine.toml")
	os.WriteFile(rf, []byte(`[[rule]]
id = "preload"
title = "preload"
severity = "info"
description = "d"
query = "SELECT image_digest, path, layer_digest, 'seen' AS detail FROM image_files WHERE path = '/etc/ld.so.preload'"
`), 0o644)
	code, out, stderr = runCLI(t, "rules", "test", "--db", db, rf)
	if code != exitOK || !strings.Contains(out, "rule preload (info): 1 rows") || !strings.Contains(out, "/etc/ld.so.preload") {
		t.Errorf("rules test: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = runCLI(t, "rules", "list")
	if code != exitOK || !strings.Contains(out, "persistence-point") || !strings.Contains(out, "aws-access-key-id") {
		t.Errorf("rules list: exit %d\n%s", code, out)
	}
}

func TestRulesHelp(t *testing.T) {
	code, out, _ := runCLI(t, "rules", "-h")
	if code != exitOK || !strings.Contains(out, "rules run: ") || !strings.Contains(out, "rules test FILE") {
		t.Errorf("rules -h: exit %d\n%s", code, out)
	}
}

// TestRulesRunOldScan: rules record findings for the latest scan only; an
// older or unknown scan id is refused before anything is written.
func TestRulesRunOldScan(t *testing.T) {
	reg := testRegistry(t)
	pushLayers(t, reg+"/team/app:1", map[string][]byte{"etc/ld.so.preload": []byte("/usr/lib/libhook.so\n")})
	db := filepath.Join(t.TempDir(), "a.db")
	for range 2 {
		if code, out, errOut := runCLI(t, "scan", "--db", db, "--quiet", reg); code != exitOK {
			t.Fatalf("scan: exit %d\n%s%s", code, out, errOut)
		}
	}
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1", "99"} {
		if code, _, errOut := runCLI(t, "rules", "run", "--db", db, "--scan", id); code != exitUsage || !strings.Contains(errOut, "not the latest scan") {
			t.Errorf("rules run --scan %s: exit %d, want %d\n%s", id, code, exitUsage, errOut)
		}
	}
	if after, err := os.ReadFile(db); err != nil || !bytes.Equal(before, after) {
		t.Errorf("the refused runs changed the database (%v)", err)
	}
	if code, _, errOut := runCLI(t, "rules", "run", "--db", db, "--scan", "2"); code != exitOK {
		t.Errorf("rules run --scan 2 (the latest): exit %d\n%s", code, errOut)
	}
}

// TestScanCountsAgree: the scan summary, the rules' counts, the images
// command and rules run --state open tell the same story. An image under two
// tags is one image; a suppressed finding is not counted as open, and is
// counted apart.
func TestScanCountsAgree(t *testing.T) {
	reg := testRegistry(t)
	files := map[string][]byte{"etc/ld.so.preload": []byte("/usr/lib/libhook.so\n"), "usr/local/bin/xmrig": []byte("\x7fELF miner")}
	pushLayers(t, reg+"/team/app:1", files)
	pushLayers(t, reg+"/team/app:latest", files) // the same image
	dir := t.TempDir()
	db, cfg := filepath.Join(dir, "a.db"), filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(`[[rules.suppress]]
rule = "known-bad-*"
path = "/usr/local/bin/*"
reason = "reviewed"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "scan", "--db", db, "--config", cfg, "--quiet", reg)
	if code != exitOK {
		t.Fatalf("scan: exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"  tags            2\n", "  images          1\n", ": 1 open findings, 1 new, 0 resolved; 1 suppressed (1 new)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("scan summary lacks %q:\n%s", want, out)
		}
	}
	code, out, stderr = runCLI(t, "images", "--db", db, "--config", cfg, "--format", "json")
	var ims []struct {
		Findings int64 `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &ims); code != exitOK || err != nil || len(ims) != 1 || ims[0].Findings != 1 {
		t.Errorf("images: exit %d, %v: %s%s; want one image with 1 open finding", code, err, out, stderr)
	}
	code, out, stderr = runCLI(t, "rules", "run", "--db", db, "--config", cfg, "--state", "open", "--format", "json")
	var rep struct {
		Findings []struct{ Path, State, Suppressed string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); code != exitOK || err != nil {
		t.Fatalf("rules run --state open: exit %d, %v\n%s%s", code, err, out, stderr)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Path+" "+f.State+" "+f.Suppressed)
	}
	sort.Strings(got)
	if want := "/etc/ld.so.preload new ,/usr/local/bin/xmrig new reviewed"; strings.Join(got, ",") != want {
		t.Errorf("rules run --state open right after the scan: %q, want %q", strings.Join(got, ","), want)
	}
}

// TestScanUnknownTag: a tag or repository the registry does not know is a
// scan error (exit 3) that says so in words.
func TestScanUnknownTag(t *testing.T) {
	reg := testRegistry(t)
	pushLayers(t, reg+"/team/app:1", map[string][]byte{"etc/hostname": []byte("x\n")})
	db := filepath.Join(t.TempDir(), "a.db")
	code, out, stderr := runCLI(t, "scan", "--db", db, "--quiet", reg+"/team/app:9.9")
	want := "tag 9.9 not found in " + reg + "/team/app"
	if code != exitScanErrors || !strings.Contains(stderr, want) || strings.Contains(stderr, "map[") {
		t.Errorf("scan of an unknown tag: exit %d, %s%s; want %d saying %q", code, out, stderr, exitScanErrors, want)
	}
	// A repository that does not exist: the registry answered, so exit 3
	// (not "nothing reachable"), saying so.
	code, out, stderr = runCLI(t, "scan", "--db", db, "--quiet", reg+"/team/nosuch")
	if want := "repository " + reg + "/team/nosuch not found"; code != exitScanErrors || !strings.Contains(stderr, want) {
		t.Errorf("scan of a missing repository: exit %d, %s%s; want %d saying %q", code, out, stderr, exitScanErrors, want)
	}
}

// TestScanUnreachable: a registry nothing listens for exits 1 (nothing
// reachable), at once, whether the target is the registry or one tag of it.
func TestScanUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	db := filepath.Join(t.TempDir(), "a.db")
	for _, target := range []string{host, host + "/team/app:1"} {
		code, out, stderr := runCLI(t, "scan", "--db", db, "--quiet", target)
		if code != exitFailure || !strings.Contains(stderr, "nothing reachable") || !strings.Contains(stderr, host+" refused the connection") {
			t.Errorf("scan of %s: exit %d, %s%s; want %d, nothing reachable", target, code, out, stderr, exitFailure)
		}
	}
}
