package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/hostileimage"
)

// fingerprints returns the findings' fingerprints of a --format json report.
func fingerprints(t *testing.T, js string) []string {
	t.Helper()
	var r struct {
		Findings []struct{ Fingerprint string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("not a JSON report: %v\n%s", err, js)
	}
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Fingerprint)
	}
	return out
}

// TestReportCommand scans the hostile image and reports on it: scan
// --format html writes the page (and the full data beside it), auditor
// report writes the same findings in every format, and every fingerprint of
// the JSON reports is in the HTML.
func TestReportCommand(t *testing.T) {
	reg := hostileimage.Registry(t)
	ref := hostileimage.Push(t, reg, "v1", hostileimage.Image(t))
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	page := filepath.Join(dir, "night.html")

	code, out, stderr := runCLI(t, "scan", "--db", db, "--quiet", "--format", "html", "--output", page, ref)
	if code != exitOK || out == "" || stderr != "" {
		t.Fatalf("scan --format html: exit %d\n%s%s", code, out, stderr)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "Content-Security-Policy") || !strings.Contains(string(html), `href="night.json"`) {
		t.Errorf("scan --format html wrote no report linking its data:\n%.3000s", html)
	}
	full, err := os.ReadFile(filepath.Join(dir, "night.json"))
	if err != nil {
		t.Fatalf("no full data beside the HTML: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "night.csv")); err != nil {
		t.Errorf("no CSV beside the HTML: %v", err)
	}

	code, js, stderr := runCLI(t, "report", "--db", db, "--format", "json")
	if code != exitOK {
		t.Fatalf("report --format json: exit %d\n%s", code, stderr)
	}
	fps := fingerprints(t, js)
	if len(fps) < 10 || strings.Join(fps, " ") != strings.Join(fingerprints(t, string(full)), " ") {
		t.Fatalf("report --format json has %d findings, the JSON beside the HTML %d", len(fps), len(fingerprints(t, string(full))))
	}
	code, html2, stderr := runCLI(t, "report", "--db", db)
	if code != exitOK || !strings.HasPrefix(html2, "<!DOCTYPE html>") {
		t.Fatalf("report: exit %d\n%.300s%s", code, html2, stderr)
	}
	for _, fp := range fps {
		if !strings.Contains(html2, fp) || !strings.Contains(string(html), fp) {
			t.Errorf("finding %s of --format json is not in the HTML", fp)
		}
	}
	for _, format := range []string{"table", "csv", "sarif"} {
		code, out, stderr := runCLI(t, "report", "--db", db, "--format", format)
		if code != exitOK || !strings.Contains(out, fps[0][:12]) {
			t.Errorf("report --format %s: exit %d, first finding %s missing\n%.500s%s", format, code, fps[0], out, stderr)
		}
	}

	// A rescan: nothing new; the scan's JSON lists none, the report has them all open.
	code, js, stderr = runCLI(t, "scan", "--db", db, "--quiet", "--format", "json", ref)
	if code != exitOK || len(fingerprints(t, js)) != 0 {
		t.Fatalf("rescan: exit %d, %d new\n%s", code, len(fingerprints(t, js)), stderr)
	}
	_, js, _ = runCLI(t, "report", "--db", db, "--format", "json")
	if !strings.Contains(js, `"state": "open"`) || strings.Contains(js, `"state": "new"`) || len(fingerprints(t, js)) != len(fps) {
		t.Errorf("report after the rescan: want the %d findings open\n%.1000s", len(fps), js)
	}
	// The first scan's report still has them new.
	_, js, _ = runCLI(t, "report", "--db", db, "--format", "json", "--scan", "1")
	if strings.Contains(js, `"state": "open"`) || len(fingerprints(t, js)) != len(fps) {
		t.Errorf("report --scan 1: want the %d findings new\n%.1000s", len(fps), js)
	}

	for _, args := range [][]string{{"--scan", "99"}, {"--format", "pdf"}, {"--since", "yesterday"}, {"--output", filepath.Join(dir, "no", "r.html")}, {"extra"}} {
		if code, _, stderr := runCLI(t, append([]string{"report", "--db", db}, args...)...); code != exitUsage {
			t.Errorf("report %v: exit %d, want %d\n%s", args, code, exitUsage, stderr)
		}
	}
}
