package main

import (
	"strings"
	"testing"
)

func TestLsGolden(t *testing.T) {
	checkGolden(t, fleetDB(t), []goldenCase{
		{"ls-opt-app", []string{"ls", "edge/corner-cases:v1", "/opt/app"}},
		{"ls-all-layers", []string{"ls", "--all-layers", "edge/corner-cases:v1", "/opt/app/data"}},
		{"ls-layer-2", []string{"ls", "edge/corner-cases:v1", "--layer", "2"}},
		{"ls-nginx-layer-2", []string{"ls", "apps/nginx:1.22", "--layer", "2"}},
		{"ls-busybox-arm64", []string{"ls", "--platform", "linux/arm64", "tools/busybox:1.35", "/bin/busybox"}},
	})
}

func TestImageErrors(t *testing.T) {
	db := fleetDB(t)
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"ls", "nope/nope:1"}, exitFailure, "unknown image nope/nope:1"},
		{[]string{"ls", "tools/busybox:1.35"}, exitFailure, "--platform"},
		{[]string{"ls", "apps/nginx:1.22", "/no/such/path"}, exitFailure, "path not in image"},
		{[]string{"history", "apps/nginx:9.9"}, exitFailure, "unknown image"},
		{[]string{"ls", "apps/nginx:1.22", "--layer", "2", "--all-layers"}, exitUsage, "exclude"},
		{[]string{"ls"}, exitUsage, "argument"},
		{[]string{"ls", "a", "b", "c"}, exitUsage, "argument"},
		{[]string{"cat", "apps/nginx:1.22", "/etc"}, exitFailure, "directory"},
		{[]string{"cat", "apps/nginx:1.22", "/etc/nginx/sites-enabled/default"}, exitFailure, "path not in image"},
	} {
		_, errOut, code := runCmd(t, append(c.args, "--db", db)...)
		if code != c.code || !strings.Contains(errOut, c.says) {
			t.Errorf("%v: exit %d %q, want %d and %q", c.args, code, errOut, c.code, c.says)
		}
	}
}
