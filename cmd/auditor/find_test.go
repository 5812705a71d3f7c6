package main

import (
	"strings"
	"testing"
)

func TestFindGolden(t *testing.T) {
	checkGolden(t, fleetDB(t), []goldenCase{
		{"find-bash-hash", []string{"find", "sha256:" + bashSHA256}},
		{"find-motd", []string{"find", "/etc/motd"}},
		{"find-glob-opaque", []string{"find", "/opt/app/data/**"}},
		{"find-hidden-only", []string{"find", "--hidden-only", "/opt/app/**"}},
		{"find-name", []string{"find", "--visible-only", "busybox"}},
	})
}

func TestFindUsage(t *testing.T) {
	db := fleetDB(t)
	for _, args := range [][]string{
		{"find"},
		{"find", "a", "b"},
		{"find", "--visible-only", "--hidden-only", "/x"},
		{"find", "--format", "yaml", "/x"},
		{"find", "--limit", "-1", "/x"},
		{"find", "--bogus", "/x"},
		{"find", "/bin/[a"}, // an unclosed class with --exact... is a literal path: see below
	} {
		_, errOut, code := runCmd(t, append(args, "--db", db)...)
		if args[len(args)-1] == "/bin/[a" {
			if code != 0 {
				t.Errorf("find /bin/[a: exit %d: %s", code, errOut)
			}
			continue
		}
		if code != exitUsage || !strings.Contains(errOut, "auditor find") {
			t.Errorf("%v: exit %d, stderr %q; want usage error", args, code, errOut)
		}
	}
}
