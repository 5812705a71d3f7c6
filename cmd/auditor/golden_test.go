package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/queries/querytest"
)

// The -update flag rewrites golden files. Another test file of this
// package may define it first; then this one reads that flag.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// runCmd runs the auditor command line and returns stdout, stderr and the
// exit status.
func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// goldenCase is one command line whose output is compared with
// testdata/golden/NAME.FORMAT for each format.
type goldenCase struct {
	name string
	args []string
}

// checkGolden runs each case with --format table, json and csv against db
// and compares the output with its golden file.
func checkGolden(t *testing.T, db string, cases []goldenCase) {
	t.Helper()
	for _, c := range cases {
		for _, f := range []string{"table", "json", "csv"} {
			t.Run(c.name+"/"+f, func(t *testing.T) {
				args := append(append([]string{}, c.args...), "--db", db, "--format", f)
				out, errOut, code := runCmd(t, args...)
				if code != 0 {
					t.Fatalf("auditor %s: exit %d: %s", strings.Join(args, " "), code, errOut)
				}
				golden(t, filepath.Join("testdata", "golden", c.name+"."+f), out)
			})
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func fleetDB(t *testing.T) string { return querytest.FleetIndex(t) }

// bashSHA256 is the content hash of the fleet base image's /usr/bin/bash.
const bashSHA256 = "55b89ab22bee4792a210f493a53fb066accd5d30b69837c28d98be5ff863efcf"
