package main

import "testing"

func TestHistoryGolden(t *testing.T) {
	checkGolden(t, fleetDB(t), []goldenCase{
		{"history-nginx", []string{"history", "apps/nginx:1.22"}},
		{"history-corner-cases", []string{"history", "edge/corner-cases:v1"}},
		{"history-busybox-amd64", []string{"history", "tools/busybox:1.35", "--platform", "linux/amd64"}},
	})
}
