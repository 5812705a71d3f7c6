package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/queries/querytest"
)

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// indexSHA asks the index for the visible content hash of path in image.
func indexSHA(t *testing.T, db, image, path string) string {
	t.Helper()
	out, errOut, code := runCmd(t, "sql", "--db", db, "--format", "csv", `SELECT f.sha256 FROM image_files f
		JOIN tags t ON t.registry = f.registry AND t.repository = f.repository AND t.digest = f.image_digest
		WHERE t.repository || ':' || t.tag = '`+image+`' AND f.path = '`+path+`' AND f.visible`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("hash of %s %s: %q %s", image, path, out, errOut)
	}
	return lines[1]
}

// TestCat streams files from the real registry: through symlinks, from a
// hardlink's target, from gzip, zstd and uncompressed layers, and hidden
// versions by layer, each checked against the index.
func TestCat(t *testing.T) {
	db := fleettest.Index(t)
	reg := fleettest.Registry(t)
	for _, c := range []struct {
		image, path string
		args        []string
		hashOf      string // the index path whose hash the output must have
		contains    string
	}{
		{image: "library/debian:bookworm", path: "/etc/os-release", hashOf: "/usr/lib/os-release", contains: "Debian GNU/Linux 12"},
		{image: "tools/busybox:1.35-zstd", path: "/bin/ls", hashOf: "/bin/busybox"},
		{image: "tools/busybox:1.35-uncompressed", path: "/bin/busybox", hashOf: "/bin/busybox"},
		{image: "corp/billing-worker:2.0", path: "/etc/billing/config.yaml", hashOf: "/etc/billing/config.yaml", contains: "queue: billing"},
		{image: "corp/billing-worker:2.0", path: "/usr/local/bin/billing-worker", hashOf: "/usr/local/bin/billing-worker"},
		{image: "edge/corner-cases:v1", path: "/opt/app/data/a.txt", args: []string{"--layer", "1"}, contains: "a\n"},
		{image: "tools/busybox:1.35", path: "/bin/busybox", args: []string{"--platform", "linux/arm64"}},
	} {
		args := append([]string{"cat", "--db", db, reg + "/" + c.image, c.path}, c.args...)
		out, errOut, code := runCmd(t, args...)
		if code != 0 {
			t.Errorf("cat %s %s: exit %d: %s", c.image, c.path, code, errOut)
			continue
		}
		if c.hashOf != "" {
			if want := indexSHA(t, db, c.image, c.hashOf); sha(out) != want {
				t.Errorf("cat %s %s: sha256 %s, the index says %s", c.image, c.path, sha(out), want)
			}
		}
		if !strings.Contains(out, c.contains) {
			t.Errorf("cat %s %s: %q does not contain %q", c.image, c.path, out, c.contains)
		}
	}
}

func TestCatOutputFile(t *testing.T) {
	db := fleettest.Index(t)
	dir := t.TempDir()
	dst := filepath.Join(dir, "sgid-helper")
	_, errOut, code := runCmd(t, "cat", "--db", db, "edge/corner-cases:v1", "/opt/app/bin/sgid-helper", "-o", dst)
	if code != 0 {
		t.Fatalf("cat -o: exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if sha(string(b)) != indexSHA(t, db, "edge/corner-cases:v1", "/opt/app/bin/sgid-helper") {
		t.Error("cat -o wrote other bytes than the index recorded")
	}
	if st, _ := os.Stat(dst); st.Mode().Perm() != 0o644 || st.Mode()&(os.ModeSetgid|os.ModeSetuid) != 0 {
		t.Errorf("cat -o mode %v: the image's setgid bit must not reach the disk", st.Mode())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("cat -o left %d files", len(ents))
	}
}

// TestCatVerifies: content that does not hash to what the index says is
// an error, and -o then writes nothing.
func TestCatVerifies(t *testing.T) {
	src := fleettest.Index(t)
	db := filepath.Join(t.TempDir(), "tampered.db")
	if err := querytest.Copy(t.Context(), src, db); err != nil {
		t.Fatal(err)
	}
	want := indexSHA(t, db, "corp/billing-worker:1.0", "/etc/billing/config.yaml")
	querytest.Exec(t, db, `UPDATE contents SET sha256 = '`+strings.Repeat("0", 64)+`' WHERE sha256 = '`+want+`'`)
	dst := filepath.Join(t.TempDir(), "config.yaml")
	_, errOut, code := runCmd(t, "cat", "--db", db, "corp/billing-worker:1.0", "/etc/billing/config.yaml", "-o", dst)
	if code != exitFailure || !strings.Contains(errOut, "does not match the index") || !strings.Contains(errOut, want) {
		t.Errorf("tampered hash: exit %d %q", code, errOut)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Error("cat -o wrote a file that failed verification")
	}
	if ents, _ := os.ReadDir(filepath.Dir(dst)); len(ents) != 0 {
		t.Errorf("cat -o left %d temporary files", len(ents))
	}
	_, errOut, code = runCmd(t, "cat", "--db", db, "corp/billing-worker:1.0", "/etc/billing/config.yaml")
	if code != exitFailure || !strings.Contains(errOut, "does not match the index") {
		t.Errorf("tampered hash to stdout: exit %d %q", code, errOut)
	}
}

func TestCatTerminal(t *testing.T) {
	db := fleettest.Index(t)
	defer func(f func(io.Writer) bool) { outputIsTerminal = f }(outputIsTerminal)
	outputIsTerminal = func(io.Writer) bool { return true }
	out, errOut, code := runCmd(t, "cat", "--db", db, "tools/busybox:1.35-zstd", "/bin/busybox")
	if code != exitFailure || out != "" || !strings.Contains(errOut, "looks binary") || !strings.Contains(errOut, "--force") {
		t.Errorf("binary to a terminal: exit %d, %d bytes out, %q", code, len(out), errOut)
	}
	if out, _, code := runCmd(t, "cat", "--db", db, "--force", "tools/busybox:1.35-zstd", "/bin/busybox"); code != 0 || !strings.HasPrefix(out, "\x7fELF") {
		t.Errorf("--force: exit %d", code)
	}
	if out, errOut, code := runCmd(t, "cat", "--db", db, "library/debian:bookworm", "/etc/os-release"); code != 0 || !strings.Contains(out, "Debian") {
		t.Errorf("text to a terminal: exit %d %q", code, errOut)
	}
}

// TestCatFromIndex: a security configuration file is served from the bytes
// the index keeps, with no registry round trip (the registry here is
// unreachable), and hashes to what the index recorded; a file the index
// keeps no bytes of still needs its layer.
func TestCatFromIndex(t *testing.T) {
	reg := fleettest.Registry(t)
	db := filepath.Join(t.TempDir(), "i.db")
	if _, errOut, code := runCmd(t, "scan", "--quiet", "--db", db, reg+"/library/debian:bookworm"); code != 0 {
		t.Fatalf("scan: exit %d: %s", code, errOut)
	}
	want := indexSHA(t, db, "library/debian:bookworm", "/etc/passwd")
	querytest.Exec(t, db, `UPDATE repositories SET registry = '127.0.0.1:1'`)
	out, errOut, code := runCmd(t, "cat", "--db", db, "127.0.0.1:1/library/debian:bookworm", "/etc/passwd")
	if code != 0 || sha(out) != want || !strings.HasPrefix(out, "root:x:0:0:") {
		t.Errorf("cat /etc/passwd from the index: exit %d, sha256 %s (want %s): %q %s", code, sha(out), want, out, errOut)
	}
	if _, _, code := runCmd(t, "cat", "--db", db, "127.0.0.1:1/library/debian:bookworm", "/usr/bin/ls", "-o", filepath.Join(t.TempDir(), "ls")); code == 0 {
		t.Error("cat /usr/bin/ls with the registry unreachable succeeded: its bytes are not in the index")
	}
}
