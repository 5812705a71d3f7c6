package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/hostileimage"
)

// TestNightlyConfig runs scans the way a nightly job does, from a working
// directory that is not the config's: db, rules files and the report dir
// resolve relative to the config file; each scan writes its report there,
// latest.html points at the newest, and only [report] keep scans' reports
// stay.
func TestNightlyConfig(t *testing.T) {
	reg := hostileimage.Registry(t)
	ref := hostileimage.Push(t, reg, "v1", hostileimage.Image(t))
	dir := filepath.Join(t.TempDir(), "etc")
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules", "mine.toml"), []byte(`[[rule]]
id = "my-rule"
title = "Any image"
severity = "info"
description = "one finding per image"
query = "SELECT digest AS image_digest, NULL AS path, NULL AS layer_digest, 'seen' AS detail FROM images"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(`db = "nightly.db"
targets = ["`+ref+`"]
[rules]
files = ["rules/*.toml"]
[report]
dir = "reports"
keep = 2
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if code, out, stderr := runCLI(t, "scan", "--config", cfg, "--quiet", "--wait"); code != exitOK {
			t.Fatalf("scan %d: exit %d\n%s%s", i, code, out, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nightly.db")); err != nil {
		t.Errorf("db is not beside the config: %v", err)
	}
	var names []string
	ents, _ := os.ReadDir(filepath.Join(dir, "reports"))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := "latest.html latest.sarif scan-000002.csv scan-000002.html scan-000002.json scan-000002.sarif scan-000003.csv scan-000003.html scan-000003.json scan-000003.sarif"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("reports dir holds\n%s\nwant\n%s", got, want)
	}
	if target, err := os.Readlink(filepath.Join(dir, "reports", "latest.html")); err != nil || target != "scan-000003.html" {
		t.Errorf("latest.html -> %q (%v), want scan-000003.html", target, err)
	}
	page, _ := os.ReadFile(filepath.Join(dir, "reports", "latest.html"))
	if !strings.Contains(string(page), "my-rule") {
		t.Errorf("the report lacks the rule from rules/*.toml")
	}
}

// TestFailOnOpen: --fail-on counts new findings by default, so a second
// scan of an unchanged image exits 0; --fail-on-state open (or
// rules.fail_on_state) counts those still open, exits 4 and says so, also
// under --quiet.
func TestFailOnOpen(t *testing.T) {
	ref := hostileimage.Push(t, hostileimage.Registry(t), "v1", hostileimage.Image(t))
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	code, _, stderr := runCLI(t, "scan", "--db", db, "--quiet", "--fail-on", "high", ref)
	if code != exitFindings || !strings.Contains(stderr, " new findings at or above high") {
		t.Fatalf("first scan: exit %d\n%s", code, stderr)
	}
	if code, _, stderr = runCLI(t, "scan", "--db", db, "--quiet", "--fail-on", "high", ref); code != exitOK || stderr != "" {
		t.Fatalf("second scan, new only: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, "scan", "--db", db, "--quiet", "--fail-on", "high", "--fail-on-state", "open", ref)
	if code != exitFindings || !strings.Contains(stderr, " open findings (new or still open: --fail-on-state open) at or above high") {
		t.Fatalf("second scan, open: exit %d\n%s", code, stderr)
	}
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("[rules]\nfail_on = \"critical\"\nfail_on_state = \"open\"\n"), 0o644)
	if code, _, stderr = runCLI(t, "scan", "--db", db, "--config", cfg, "--quiet", ref); code != exitFindings || !strings.Contains(stderr, "at or above critical") {
		t.Fatalf("fail_on_state in config: exit %d\n%s", code, stderr)
	}
	if code, _, stderr = runCLI(t, "scan", "--db", db, "--fail-on-state", "all", ref); code != exitUsage {
		t.Errorf("--fail-on-state all: exit %d\n%s", code, stderr)
	}
}

// TestConfigErrorsBeforeCrawl: a suppression without a reason (or any
// config mistake) fails the scan before anything is crawled or recorded.
func TestConfigErrorsBeforeCrawl(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"reason is required": "[[rules.suppress]]\nrule = \"setuid-*\"\n",
		"bad glob":           "[[rules.suppress]]\nrule = \"setuid-[\"\nreason = \"r\"\n",
		"expires":            "[[rules.suppress]]\nfingerprint = \"abc\"\nreason = \"r\"\nexpires = \"soon\"\n",
		"keep":               "[report]\nkeep = -1\n",
	} {
		cfg := filepath.Join(dir, "c.toml")
		os.WriteFile(cfg, []byte("db = \"x.db\"\n"+body), 0o644)
		// The target is unreachable: an error naming it would mean the crawl ran.
		code, _, stderr := runCLI(t, "scan", "--config", cfg, "127.0.0.1:1/none:v1")
		if code != exitFailure || !strings.Contains(stderr, "config "+cfg) || strings.Contains(stderr, "127.0.0.1:1") {
			t.Errorf("%s: exit %d, want %d and the config named before any crawl\n%s", name, code, exitFailure, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
			t.Errorf("%s: a database was made", name)
		}
	}
}
