package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/fleettest"
)

// setuidInventory is a site's own rule: every setuid file, the usual
// system programs included, so that the fleet's Debian image, which the
// default rules find clean, has findings on files its packages own.
const setuidInventory = `[[rule]]
id = "site-setuid-inventory"
title = "Setuid program (site inventory)"
severity = "info"
scope = "image"
description = "Every setuid regular file, for the site's inventory."
query = """
SELECT DISTINCT il.image_digest, f.path, f.layer_digest, 'setuid ' || printf('%04o', f.mode) AS detail
FROM files f JOIN image_layers il ON il.layer_digest = f.layer_digest
WHERE f.type = 'file' AND (f.mode & 2048) != 0
"""
`

// TestReportFleetDebian scans the shared fleet's Debian image (debootstrap's
// minbase, dpkg's database in it) with the site rule above and wants, in
// its section of the HTML report, the OS from its os-release
// (images.os_pretty_name) and, in the evidence of the findings on
// /usr/bin/su and /usr/bin/passwd, the packages that own them in Debian 12
// (image_files.package; dpkg -S /usr/bin/su says util-linux).
func TestReportFleetDebian(t *testing.T) {
	reg := fleettest.Registry(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "site.toml"), []byte(setuidInventory), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("db = \"fleet.db\"\n[rules]\nfiles = [\"site.toml\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runCLI(t, "scan", "--config", cfg, "--quiet", reg+"/library/debian:bookworm"); code != exitOK {
		t.Fatalf("scan: exit %d\n%s%s", code, out, stderr)
	}
	page := filepath.Join(dir, "report.html")
	if code, out, stderr := runCLI(t, "report", "--config", cfg, "-o", page); code != exitOK {
		t.Fatalf("report: exit %d\n%s%s", code, out, stderr)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	const digest = "sha256:a5e7745567865df07919ff4f6eb87df238f51243eecd357d2228a0eac8fb6330" // fleet.list
	_, section, ok := strings.Cut(string(b), `id="img-`+digest+`"`)
	section, _, _ = strings.Cut(section, "</section>")
	if !ok {
		t.Fatalf("the report has no section for library/debian:bookworm (%s):\n%.3000s", digest, b)
	}
	if want := "<dt>OS</dt><dd>Debian GNU/Linux 12 (bookworm)</dd>"; !strings.Contains(section, want) {
		t.Errorf("the image's section does not show %s:\n%.2000s", want, section)
	}
	rows := regexp.MustCompile(`(?s)<tr id="f-[0-9a-f]+">.*?</tr>`).FindAllString(section, -1)
	for path, pkg := range map[string]string{"/usr/bin/su": "util-linux", "/usr/bin/passwd": "passwd", "/usr/bin/mount": "mount"} {
		var row string
		for _, r := range rows {
			if strings.Contains(r, `<div class="mono">`+path+`</div>`) {
				row = r
			}
		}
		if row == "" {
			t.Errorf("no finding on %s in the image's section (%d findings)", path, len(rows))
		} else if want := `<div class="sub">package: ` + pkg + `</div>`; !strings.Contains(row, want) {
			t.Errorf("the finding on %s does not show %s:\n%s", path, want, row)
		}
	}
}
