package main

import (
	"testing"

	"github.com/auditor-dev/auditor/queries/querytest"
)

func TestImagesGolden(t *testing.T) {
	checkGolden(t, fleetDB(t), []goldenCase{
		{"images", []string{"images"}},
		{"images-busybox", []string{"images", "busybox:1.35*"}},
	})
	checkGolden(t, querytest.SmallIndex(t), []goldenCase{
		{"images-small", []string{"images"}},
	})
}
