package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/fleettest"
)

// TestPackagesCommand: a scan resolves the packages, and auditor packages
// lists them, the files changed, and the files no package owns, as a
// table and as JSON; ls and find show each file's owner.
func TestPackagesCommand(t *testing.T) {
	reg := fleettest.Registry(t)
	db := filepath.Join(t.TempDir(), "i.db")
	if _, errOut, code := runCmd(t, "scan", "--quiet", "--db", db, reg+"/ops/toolbox:2025.06", reg+"/apps/redis:7.0"); code != 0 {
		t.Fatalf("scan: exit %d: %s", code, errOut)
	}
	out, errOut, code := runCmd(t, "packages", "--db", db, "ops/toolbox:2025.06")
	if code != 0 || !strings.Contains(out, "MANAGER") || !strings.Contains(out, "coreutils") || strings.Count(out, "\ndpkg ") < 80 {
		t.Errorf("packages: exit %d %s\n%s", code, errOut, out)
	}
	out, errOut, code = runCmd(t, "packages", "--db", db, "ops/toolbox:2025.06", "--unowned", "-f", "json")
	var paths []string
	var rs []struct{ Path string }
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	for _, r := range rs {
		if strings.HasPrefix(r.Path, "/usr/bin/") {
			paths = append(paths, r.Path)
		}
	}
	if code != 0 || strings.Join(paths, " ") != "/usr/bin/jq /usr/bin/wget" {
		t.Errorf("--unowned: exit %d %s: %v", code, errOut, paths)
	}
	out, errOut, code = runCmd(t, "packages", "--db", db, "apps/redis:7.0", "--modified")
	if code != 0 || !strings.Contains(out, "conffile-modified  /etc/redis/redis.conf") {
		t.Errorf("--modified: exit %d %s\n%s", code, errOut, out)
	}
	// ls and find show the owner.
	out, errOut, code = runCmd(t, "ls", "--db", db, "ops/toolbox:2025.06", "/usr/bin/ls")
	if code != 0 || !strings.Contains(out, "PACKAGE") || !strings.HasSuffix(strings.TrimSpace(out), "coreutils") {
		t.Errorf("ls: exit %d %s\n%s", code, errOut, out)
	}
	out, errOut, code = runCmd(t, "find", "--db", db, "/usr/bin/jq", "-f", "json")
	var found []struct {
		Path    string
		Package *string
	}
	if err := json.Unmarshal([]byte(out), &found); code != 0 || err != nil || len(found) != 1 || found[0].Package != nil {
		t.Errorf("find /usr/bin/jq: exit %d %v %s\n%s", code, err, errOut, out)
	}
	out, _, _ = runCmd(t, "find", "--db", db, "/usr/bin/bash", "-f", "json")
	if err := json.Unmarshal([]byte(out), &found); err != nil || len(found) != 2 || found[0].Package == nil || *found[0].Package != "bash" {
		t.Errorf("find /usr/bin/bash: %v\n%s", err, out)
	}
	if _, _, code := runCmd(t, "packages", "--db", db, "apps/redis:7.0", "--modified", "--unowned"); code != exitUsage {
		t.Errorf("--modified --unowned: exit %d", code)
	}
}
