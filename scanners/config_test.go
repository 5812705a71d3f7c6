package scanners

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/crawl"
)

// TestConfigShapeCaps: files outside the path set are kept by their shape
// (a key file anywhere, an sshd file under a hidden directory), ordinary
// small files and a key-shaped file over the line bounds (a minified
// bundle quoting a key) are not, and a layer of more key-shaped files than the shape
// caps keeps the first 2,000 (the sshd file among them) and fails the scan naming the cap, while the
// files of the documented set after them are still read.
func TestConfigShapeCaps(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name, body string) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	add("opt/app/readme.txt", "nothing to see\n")
	add("usr/lib/.ssh/x.conf", "PermitRootLogin yes\n")
	add("srv/www/app.min.js", "var k=1; // ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw3b0x1cW5hcHBsZXNhdWNl "+strings.Repeat("x", 20<<10)+"\n")
	for i := range 2100 {
		add(fmt.Sprintf("srv/k/%04d", i), fmt.Sprintf("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%040d k%d\n", i, i))
	}
	add("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := crawl.ReadLayer(context.Background(), bytes.NewReader(buf.Bytes()),
		crawl.LayerInput{Digest: "sha256:" + strings.Repeat("0", 64), Scanners: []crawl.LayerScanner{NewConfig(0)}}, crawl.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, c := range l.Configs {
		kinds[c.Kind]++
		if c.Error != "" {
			t.Errorf("configuration %d kept with an error: %s", c.Seq, c.Error)
		}
	}
	if kinds["candidate-authorized_keys"] != configShapeFiles-1 || kinds["candidate-sshd_config"] != 1 || kinds["passwd"] != 1 || len(kinds) != 3 {
		t.Errorf("configurations kept by kind: %v", kinds)
	}
	if len(l.Scans) != 1 || !strings.Contains(l.Scans[0].Error, "101 configuration files not read") || !strings.Contains(l.Scans[0].Error, "kept for their shape") {
		t.Errorf("scans: %+v", l.Scans)
	}
}
