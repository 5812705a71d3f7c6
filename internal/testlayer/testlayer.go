// Package testlayer builds small layer tars for tests, written exactly as
// given: no name cleaning, since tests plant unsafe names on purpose.
package testlayer

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Entry is one tar entry. Type is tar.TypeReg when 0; Mode is 0644 (0755
// for a directory) when 0; Body is written for regular files only; Caps is
// a security.capability xattr.
type Entry struct {
	Name               string
	Type               byte
	Mode               int64
	UID, GID           int
	Body, Link         string
	Devmajor, Devminor int64
	Caps               []byte
}

// ModTime is every entry's modification time.
var ModTime = time.Unix(1700000000, 0)

// Layer returns a layer of a PAX tar of the entries, in order
// (go-containerregistry serves it gzip-compressed).
func Layer(t testing.TB, ents ...Entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Mode: e.Mode, Uid: e.UID, Gid: e.GID, Linkname: e.Link,
			ModTime: ModTime, Format: tar.FormatPAX, Devmajor: e.Devmajor, Devminor: e.Devminor}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if e.Caps != nil {
			h.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": string(e.Caps)}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar %q: %v", e.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, e.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}
