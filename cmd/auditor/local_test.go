package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/fleettest"
)

// TestLocalImageNames: an image scanned from a local input is named by the
// reference it was scanned with (relative or absolute) and by the form the
// images command prints (SOURCE/ABSPATH[:REF]), and cat serves its files
// from the archive or layout, checked against the index.
func TestLocalImageNames(t *testing.T) {
	images := filepath.Join(fleettest.Dir(t), "images")
	layout := filepath.Join(images, "oci")
	docker := filepath.Join(images, "docker-archive", "legacy-hello-1.0.tar")
	dir := t.TempDir()
	archive := filepath.Join(dir, "busybox.tar")
	if out, err := exec.Command("tar", "-C", layout, "-cf", archive, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	db := filepath.Join(dir, "l.db")
	t.Chdir(images) // relative names resolve against the directory the command runs in
	out, errOut, code := runCmd(t, "scan", "--quiet", "--db", db, "docker-archive:docker-archive/legacy-hello-1.0.tar",
		"oci:oci:busybox-1.35", "oci-archive:"+archive+":busybox-1.35")
	if code != exitOK {
		t.Fatalf("scan: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = runCmd(t, "images", "--db", db)
	for _, printed := range []string{"docker-archive/" + docker, "oci/" + layout, "oci-archive/" + archive} {
		if !strings.Contains(out, printed+" ") {
			t.Errorf("images does not print %q:\n%s", printed, out)
		}
	}
	for _, c := range []struct {
		image, platform, path string
		source, input         string // where the index has it
	}{
		{"docker-archive:docker-archive/legacy-hello-1.0.tar", "", "/etc/passwd", "docker-archive", docker},
		{"docker-archive:" + docker, "", "/usr/local/bin/hello", "docker-archive", docker},
		{"docker-archive/" + docker, "", "/etc/passwd", "docker-archive", docker},
		{"oci:oci:busybox-1.35", "linux/amd64", "/etc/passwd", "oci", layout},
		{"oci:" + layout, "linux/arm64", "/etc/group", "oci", layout},
		{"oci/" + layout + ":busybox-1.35", "linux/arm64", "/etc/passwd", "oci", layout},
		{"oci-archive:" + archive + ":busybox-1.35", "linux/amd64", "/etc/group", "oci-archive", archive},
		{"oci-archive/" + archive, "linux/arm64", "/etc/passwd", "oci-archive", archive},
	} {
		args := []string{"--db", db, c.image, c.path}
		if c.platform != "" {
			args = append(args, "--platform", c.platform)
		}
		if out, errOut, code := runCmd(t, append([]string{"ls"}, args...)...); code != exitOK || !strings.Contains(out, c.path) {
			t.Errorf("ls %s %s: exit %d\n%s%s", c.image, c.path, code, out, errOut)
		}
		out, errOut, code := runCmd(t, append([]string{"cat"}, args...)...)
		if code != exitOK || out == "" {
			t.Errorf("cat %s %s: exit %d\n%s", c.image, c.path, code, errOut)
			continue
		}
		want := dbStrings(t, db, `SELECT DISTINCT sha256 FROM image_files WHERE registry = '`+c.source+`' AND repository = '`+c.input+
			`' AND path = '`+c.path+`' AND visible`)
		if len(want) == 0 || !strings.Contains(strings.Join(want, " "), sha(out)) {
			t.Errorf("cat %s %s: sha256 %s, the index has %v", c.image, c.path, sha(out), want)
		}
	}
}
