package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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
	// A scan that failed still writes the night's report, and it says so.
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("db = \"x.db\"\n[report]\ndir = \"reports\"\n"), 0o644)
	if code, _, stderr := runCLI(t, "scan", "--config", cfg, "--quiet", "127.0.0.1:1/none:v1"); code != exitFailure {
		t.Fatalf("scan of nothing reachable: exit %d\n%s", code, stderr)
	}
	page, err := os.ReadFile(filepath.Join(dir, "reports", "latest.html"))
	if err != nil || !strings.Contains(string(page), "This scan failed") || strings.Contains(string(page), "No new and no open findings") {
		t.Errorf("the failed scan's report (%v) does not say it failed:\n%.2000s", err, page)
	}
}

// TestNightlyUnits checks the unit files of docs/nightly with
// systemd-analyze verify, runs the service's ExecStart as written (the
// config swapped for one scanning a test registry), and checks the cron
// line runs the same command.
func TestNightlyUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze (Debian's systemd package; .ci/run installs it)")
	}
	bin := auditorBinary(t)
	units := filepath.Join("..", "..", "docs", "nightly")
	dir := t.TempDir()
	service, err := os.ReadFile(filepath.Join(units, "auditor-nightly.service"))
	if err != nil {
		t.Fatal(err)
	}
	// verify needs ExecStart's binary to exist: point it at the one built.
	if err := os.WriteFile(filepath.Join(dir, "auditor-nightly.service"), bytes.ReplaceAll(service, []byte("/usr/local/bin/auditor"), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	timer, err := os.ReadFile(filepath.Join(units, "auditor-nightly.timer"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "auditor-nightly.timer"), timer, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", filepath.Join(dir, "auditor-nightly.service"), filepath.Join(dir, "auditor-nightly.timer")).CombinedOutput()
	if err != nil || len(out) > 0 { // warnings (unknown keys, bad values) exit 0 but print
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}

	// The service's command, as written, with a config for a test registry.
	m := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindSubmatch(service)
	if m == nil {
		t.Fatal("no ExecStart in the service")
	}
	args := strings.Fields(string(m[1]))
	if args[0] != "/usr/local/bin/auditor" || !slices.Contains(args, "--wait") || !slices.Contains(args, "/etc/auditor/config.toml") {
		t.Fatalf("ExecStart %q: want /usr/local/bin/auditor scan --config /etc/auditor/config.toml --wait", m[1])
	}
	ref := hostileimage.Push(t, hostileimage.Registry(t), "v1", hostileimage.Image(t))
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte("db = \""+filepath.Join(dir, "state", "auditor.db")+"\"\ntargets = [\""+ref+"\"]\n[report]\ndir = \""+filepath.Join(dir, "state", "reports")+"\"\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "state"), 0o755)
	for i, a := range args {
		if a == "/etc/auditor/config.toml" {
			args[i] = cfg
		}
	}
	cmd := exec.Command(bin, args[1:]...)
	cmd.Dir = "/" // as cron and systemd without WorkingDirectory do
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", m[1], err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "reports", "latest.html")); err != nil {
		t.Errorf("the service's command wrote no report: %v", err)
	}

	// The cron line runs the same scan, and the nightly config loads.
	cron, err := os.ReadFile(filepath.Join(units, "auditor.cron"))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^[0-9*,/-]+ [0-9*,/-]+ [0-9*,/-]+ [0-9*,/-]+ [0-9*,/-]+ auditor (.*)$`).FindSubmatch(cron)
	if line == nil || !strings.Contains(string(line[1]), strings.Join(strings.Fields(string(m[1])), " ")) {
		t.Errorf("auditor.cron has no line running %q as user auditor:\n%s", m[1], cron)
	}
	if _, err := LoadConfig(filepath.Join(units, "config.toml"), true); err != nil {
		t.Errorf("docs/nightly/config.toml: %v", err)
	}
}
