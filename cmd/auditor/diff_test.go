package main

import (
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/queries/querytest"
)

func TestDiffGolden(t *testing.T) {
	checkGolden(t, fleetDB(t), []goldenCase{
		{"diff-billing", []string{"diff", "corp/billing-worker:1.0", "corp/billing-worker:2.0"}},
		{"diff-debian-corner-cases", []string{"diff", "library/debian:bookworm", "edge/corner-cases:v1", "--path", "/opt/app/etc"}},
		{"diff-nginx-etc", []string{"diff", "--path", "/etc/nginx", "mirror/debian:bookworm", "apps/nginx:1.22"}},
	})
	checkGolden(t, querytest.SmallIndex(t), []goldenCase{
		{"diff-scan-1", []string{"diff", "--scan", "1"}},
		{"diff-since", []string{"diff", "--since", querytest.Scan1.Add(time.Hour).Format("2006-01-02 15:04")}},
	})
}

func TestDiffUsage(t *testing.T) {
	db := querytest.SmallIndex(t)
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"diff", "a.test/app:1.0"}, exitUsage, "two images"},
		{[]string{"diff", "--scan", "1", "--since", "2026-01-01"}, exitUsage, "exclude"},
		{[]string{"diff", "--scan", "1", "a.test/app:1.0"}, exitUsage, "not both"},
		{[]string{"diff", "--since", "yesterday"}, exitUsage, "not a date"},
		{[]string{"diff", "--scan", "7"}, exitFailure, "no scan 7"},
	} {
		_, errOut, code := runCmd(t, append(c.args, "--db", db)...)
		if code != c.code || !strings.Contains(errOut, c.says) {
			t.Errorf("%v: exit %d %q, want %d and %q", c.args, code, errOut, c.code, c.says)
		}
	}
	out, errOut, code := runCmd(t, "diff", "--scan", "2", "--db", db)
	if code != 0 || !strings.Contains(errOut, "no scan after scan 2") || strings.Count(out, "\n") != 1 {
		t.Errorf("diff --scan 2 (the last): exit %d %q %q", code, out, errOut)
	}
	// After the last scan by date, the same: nothing changed, not an error.
	out, errOut, code = runCmd(t, "diff", "--since", "2099-01-01", "--db", db)
	if code != 0 || !strings.Contains(errOut, "no scan after 2099-01-01: nothing changed") || strings.Count(out, "\n") != 1 {
		t.Errorf("diff --since a future date: exit %d %q %q", code, out, errOut)
	}
}
