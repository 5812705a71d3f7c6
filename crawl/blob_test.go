package crawl

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/klauspost/compress/zstd"
)

// TestOpenLayer fetches a layer blob from an in-process registry and reads
// the file back out of its tar.
func TestOpenLayer(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	layer, err := crane.Layer(map[string][]byte{"etc/hello.txt": []byte("hello\n")})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/test/blob:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := layer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	cr, err := New(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	blob, err := cr.OpenLayer(ctx, host, "test/blob", d.String())
	if err != nil {
		t.Fatal(err)
	}
	defer blob.Close()
	tr, comp, err := Decompress(blob)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if comp != "gzip" {
		t.Errorf("compression %q, want gzip", comp)
	}
	r := tar.NewReader(tr)
	hdr, err := r.Next()
	if err != nil || hdr.Name != "etc/hello.txt" {
		t.Fatalf("first entry %+v %v", hdr, err)
	}
	if b, _ := io.ReadAll(r); string(b) != "hello\n" {
		t.Errorf("content %q", b)
	}
	_, err = cr.OpenLayer(ctx, host, "test/blob", "sha256:"+strings.Repeat("0", 64))
	if err == nil || !strings.Contains(err.Error(), strings.Repeat("0", 64)) {
		t.Errorf("absent blob: %v", err)
	}
}

func TestDecompress(t *testing.T) {
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	tw.WriteHeader(&tar.Header{Name: "x", Mode: int64(fs.ModePerm), Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z)
	zw.Write(plain.Bytes())
	zw.Close()
	for want, blob := range map[string][]byte{"none": plain.Bytes(), "zstd": z.Bytes()} {
		rc, comp, err := Decompress(bytes.NewReader(blob))
		if err != nil || comp != want {
			t.Fatalf("%s: %q %v", want, comp, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(b, plain.Bytes()) {
			t.Errorf("%s: round trip failed: %v", want, err)
		}
	}
	if _, _, err := Decompress(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0})); err == nil {
		t.Error("broken gzip header accepted")
	}
}
