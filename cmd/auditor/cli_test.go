package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/report"
)

// TestHelp: --help (and -h, and help COMMAND) on every command and
// subcommand prints GNU-style help on stdout and exits 0; scan's lists
// every target form and the commands that take an IMAGE every way to name
// one; defaults are real values, not sentinels.
func TestHelp(t *testing.T) {
	root := newRoot()
	var paths [][]string
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		paths = append(paths, []string{c.Name()})
		for _, s := range c.Commands() {
			paths = append(paths, []string{c.Name(), s.Name()})
		}
	}
	if len(paths) < 12 {
		t.Fatalf("only %d commands: %v", len(paths), paths)
	}
	imageCommands := map[string]bool{"ls": true, "cat": true, "history": true, "diff": true}
	for _, p := range paths {
		name := strings.Join(p, " ")
		out, errOut, code := runCmd(t, append(p, "--help")...)
		if code != exitOK || errOut != "" || !strings.Contains(out, "Usage:\n  auditor "+name) || !strings.Contains(out, "  -h, --help") {
			t.Errorf("%s --help: exit %d, stderr %q, stdout:\n%s", name, code, errOut, out)
			continue
		}
		if short, _, _ := runCmd(t, append(p, "-h")...); short != out {
			t.Errorf("%s -h differs from --help", name)
		}
		if viaHelp, _, _ := runCmd(t, append([]string{"help"}, p...)...); viaHelp != out {
			t.Errorf("help %s differs from %s --help", name, name)
		}
		for _, sentinel := range []string{" -1", "(default 0)", `(default "")`} {
			if strings.Contains(out, sentinel) {
				t.Errorf("%s --help shows %q:\n%s", name, sentinel, out)
			}
		}
		if imageCommands[p[0]] {
			for _, form := range []string{"registry/repo:tag", "docker-archive:FILE", "oci:DIR[:REF]", "oci-archive:FILE[:REF]"} {
				if !strings.Contains(out, form) {
					t.Errorf("%s --help does not say IMAGE may be %s", name, form)
				}
			}
		}
	}
	out, _, _ := runCmd(t, "scan", "--help")
	for _, want := range []string{"host[:port] ", "host[:port]/repo ", "host[:port]/repo:tag", "host[:port]/repo@sha256:", "http://",
		"docker-archive:FILE", "oci:DIR[:REF]", "oci-archive:FILE[:REF]",
		"-f, --format FORMAT", "-o, --output FILE", "-q, --quiet", "--no-progress",
		fmt.Sprintf("else %d)", crawl.DefaultJobs)} {
		if !strings.Contains(out, want) {
			t.Errorf("scan --help lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, _, code := runCmd(t, args...)
		if code != exitOK || !strings.Contains(out, "Available Commands:") || !strings.Contains(out, "completion") {
			t.Errorf("auditor %s: exit %d\n%s", args[0], code, out)
		}
	}
}

// TestUsageErrorsNameTheCommand: a bad command line exits 2 with a line
// naming the command and where its help is; what the user typed is escaped.
func TestUsageErrorsNameTheCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate\x1b[2J"}, `auditor: unknown command "frobnicate`},
		{[]string{"images", "--bogus"}, "auditor images: unknown flag: --bogus\nRun 'auditor images --help' for usage."},
		{[]string{"rules"}, "auditor rules: auditor rules list|run|test FILE"},
		{[]string{"rules", "frob"}, `auditor rules: unknown rules subcommand "frob"`},
		{[]string{"rules", "test"}, "auditor rules test: want 1 argument(s)"},
		{[]string{"ls", "x:1", "--layer", "-2"}, "auditor ls: --layer -2: want 0 (the bottom layer) or more"},
		{[]string{"version", "extra"}, "auditor version: want 0 argument(s)"},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "\x1b") {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, errOut, exitUsage, c.want)
		}
	}
}

// TestShortAndGoStyleFlags: -f is --format, and the single-dash long flags
// of auditor's first command line (-db FILE, -format=csv) still work.
func TestShortAndGoStyleFlags(t *testing.T) {
	db := fleetDB(t)
	long, _, code := runCmd(t, "images", "--db", db, "--format", "csv")
	if code != exitOK || !strings.HasPrefix(long, "registry,repository,") {
		t.Fatalf("images --format csv: exit %d\n%s", code, long)
	}
	for _, args := range [][]string{
		{"images", "--db", db, "-f", "csv"},
		{"images", "--db=" + db, "-fcsv"},
		{"images", "-db", db, "-format=csv"},
		{"images", "-f", "csv", "-db", db, "--"},
	} {
		if out, errOut, code := runCmd(t, args...); code != exitOK || out != long {
			t.Errorf("%q: exit %d, %s; output differs from --format csv:\n%s", args, code, errOut, out)
		}
	}
	// After --, nothing is a flag: -db is a PATTERN.
	if out, errOut, code := runCmd(t, "images", "--db", db, "-f", "csv", "--", "-db"); code != exitOK || strings.Contains(out, "docker.io") {
		t.Errorf("images -- -db: exit %d, %s\n%s", code, errOut, out)
	}
	js, _, _ := runCmd(t, "history", "--db", db, "--format", "json", "apps/nginx:1.22")
	if out, errOut, code := runCmd(t, "history", "apps/nginx:1.22", "-f", "json", "--db", db); code != exitOK || out != js || !strings.HasPrefix(js, "[") {
		t.Errorf("history IMAGE -f json: exit %d, %s\n%.300s", code, errOut, out)
	}
}

// TestVersion: auditor --version and auditor version print the version
// scans record; it comes from the build information.
func TestVersion(t *testing.T) {
	out, _, code := runCmd(t, "--version")
	if code != exitOK || out != "auditor "+version+"\n" {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	out, _, code = runCmd(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "auditor "+version+"\n") || !strings.Contains(out, "module     github.com/auditor-dev/auditor") {
		t.Errorf("version: exit %d\n%s", code, out)
	}
	for _, c := range []struct {
		bi   debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, baseVersion},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "8c5bece585cca2b08cc509a5215708450ed6344f"}, {Key: "vcs.modified", Value: "true"}}}, baseVersion + "+8c5bece585cc.dirty"},
		{debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "8c5bece585cca2b08cc509a5215708450ed6344f"}}}, baseVersion + "+8c5bece585cc"},
	} {
		if got := buildVersion(&c.bi, true); got != c.want {
			t.Errorf("buildVersion(%+v) = %q, want %q", c.bi, got, c.want)
		}
	}
	if got := buildVersion(nil, false); got != baseVersion {
		t.Errorf("buildVersion without build info = %q", got)
	}
}

// TestCompletion: cobra's completion scripts, and flag values completed
// from what the flags accept.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, errOut, code := runCmd(t, "completion", shell)
		if code != exitOK || !strings.Contains(out, "auditor") || len(out) < 1000 {
			t.Errorf("completion %s: exit %d, %d bytes, %s", shell, code, len(out), errOut)
		}
	}
	out, _, code := runCmd(t, "__complete", "scan", "--format", "")
	for _, f := range report.Formats {
		if code != exitOK || !strings.Contains(out, f+"\n") {
			t.Errorf("completing scan --format: exit %d, no %s:\n%s", code, f, out)
		}
	}
	out, _, _ = runCmd(t, "__complete", "s")
	if !strings.Contains(out, "scan\t") || !strings.Contains(out, "sql\t") || strings.Contains(out, "images\t") {
		t.Errorf("completing s:\n%s", out)
	}
}

// TestVersionFromCheckout builds the binary as the README and
// docs/nightly.md say (go build -buildvcs=auto, which wins over a
// GOFLAGS=-buildvcs=false in the environment or go env) in a clean clone of
// this checkout's HEAD, and wants git's own HEAD in auditor version. (Not
// in this directory: Go stamps nothing in a linked git worktree, whose .git
// is a file; golang/go#58218.) Built with -buildvcs=false, version says the
// revision is unknown and how to get it, rather than printing nothing.
func TestVersionFromCheckout(t *testing.T) {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	rev := strings.TrimSpace(string(head))
	dir := t.TempDir()
	clone := filepath.Join(dir, "clone")
	for _, args := range [][]string{{"clone", "--quiet", "--no-checkout", strings.TrimSpace(string(top)), clone}, {"-C", clone, "checkout", "--quiet", rev}} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, c := range []struct{ dir, flag, want string }{
		{filepath.Join(clone, "cmd", "auditor"), "-buildvcs=auto", "  revision   " + rev + "\n"},
		{".", "-buildvcs=false", "  revision   " + noRevision + "\n"},
	} {
		bin := filepath.Join(dir, "auditor"+c.flag)
		cmd := exec.Command("go", "build", c.flag, "-o", bin, ".")
		cmd.Dir, cmd.Env = c.dir, append(os.Environ(), "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", c.flag, err, out)
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("go build %s in %s; auditor version: %v\n%s\nwant the line %q", c.flag, c.dir, err, out, c.want)
		}
	}
}
