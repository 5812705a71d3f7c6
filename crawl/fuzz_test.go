package crawl

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// The seed corpora live in testdata/fuzz/<Fuzz name>/ (real fleet layers,
// manifests and configs, crafted hostile tars, and crashers found while
// fuzzing, kept as regression cases). -write-fuzz-seeds refreshes the
// fleet-derived seeds from ../shared/fleet/images/oci.
var writeSeeds = flag.Bool("write-fuzz-seeds", false, "write fuzz seeds from the shared fleet's OCI layout into testdata/fuzz")

// fuzzLimits keep each fuzz input cheap.
var fuzzLimits = Limits{MaxEntries: 10_000, MaxUncompressedSize: 16 << 20}

// FuzzReadLayer feeds arbitrary blobs to the layer reader: it must return
// an error or a layer whose entries all have clean absolute paths, never
// panic, and never read past its limits.
func FuzzReadLayer(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Add(make([]byte, 1024))
	f.Fuzz(func(t *testing.T, blob []byte) {
		sum := sha256.Sum256(blob)
		in := LayerInput{Digest: "sha256:" + hex.EncodeToString(sum[:]), Verify: true}
		l, err := ReadLayer(context.Background(), bytes.NewReader(blob), in, fuzzLimits)
		if err != nil {
			if l != nil {
				t.Fatal("a layer and an error")
			}
			return
		}
		if l.Size != int64(len(blob)) {
			t.Fatalf("size %d for a %d-byte blob", l.Size, len(blob))
		}
		if l.UncompressedSize > fuzzLimits.MaxUncompressedSize || int64(len(l.Entries)) > fuzzLimits.MaxEntries {
			t.Fatalf("limits passed: %d bytes, %d entries", l.UncompressedSize, len(l.Entries))
		}
		for _, e := range l.Entries {
			if !strings.HasPrefix(e.Path, "/") || path.Clean(e.Path) != e.Path {
				t.Fatalf("entry path %q is not clean and absolute (raw %q)", e.Path, e.RawName)
			}
			if e.SHA256 != "" && len(e.SHA256) != 64 {
				t.Fatalf("entry %q: sha256 %q", e.Path, e.SHA256)
			}
		}
	})
}

// FuzzManifest feeds an arbitrary manifest body and Content-Type, and an
// arbitrary config, through what the crawler does with them before any
// layer is read: classification, parsing, and the image record. It must
// give an error or a record, never panic.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2}`), string(types.OCIManifestSchema1), []byte(`{}`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[]}`), "text/html", []byte(`null`))
	f.Fuzz(func(t *testing.T, manifest []byte, contentType string, config []byte) {
		_, kind, err := classifyManifest(types.MediaType(contentType), manifest)
		if err != nil {
			return
		}
		switch kind {
		case kindIndex:
			im, err := v1.ParseIndexManifest(bytes.NewReader(manifest))
			if err != nil {
				return
			}
			for _, m := range im.Manifests {
				_ = wantPlatform(nil, platformOf(m.Platform))
			}
		case kindImage:
			m, err := v1.ParseManifest(bytes.NewReader(manifest))
			if err != nil {
				return
			}
			cf, err := v1.ParseConfigFile(bytes.NewReader(config))
			if err != nil {
				return
			}
			layers, err := manifestLayers(m, cf)
			if err != nil {
				return
			}
			rec := imageRecord(&imageParts{Config: cf, Layers: layers})
			if len(layers) != len(m.Layers) || len(rec.History) != len(cf.History) {
				t.Fatalf("record has %d layers and %d history entries, manifest %d, config %d",
					len(layers), len(rec.History), len(m.Layers), len(cf.History))
			}
		}
	})
}

// TestWriteFuzzSeeds writes the fleet-derived seeds (with -write-fuzz-seeds).
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-fuzz-seeds to refresh testdata/fuzz")
	}
	layout := filepath.Join("..", "..", "shared", "fleet", "images", "oci", "blobs", "sha256")
	ents, err := os.ReadDir(layout)
	if err != nil {
		t.Fatal(err)
	}
	var manifests, configs [][]byte
	layers := 0
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(layout, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case bytes.Contains(b, []byte(`"rootfs"`)):
			configs = append(configs, b)
		case bytes.HasPrefix(b, []byte("{")) && (bytes.Contains(b, []byte(`"layers"`)) || bytes.Contains(b, []byte(`"manifests"`))):
			manifests = append(manifests, b)
		case len(b) <= 48<<10 && layers < 12:
			writeSeed(t, "FuzzReadLayer", "fleet-"+e.Name()[:12], b)
			layers++
		}
	}
	for i, m := range manifests {
		var s struct{ MediaType string }
		_ = json.Unmarshal(m, &s)
		writeSeed(t, "FuzzManifest", fmt.Sprintf("fleet-%02d", i), m, s.MediaType, configs[i%len(configs)])
	}
	// Crafted layers: hostile names and whiteouts, plain, gzip and zstd.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, h := range []tar.Header{
		{Name: "../../etc/passwd", Typeflag: tar.TypeReg, Size: 3}, {Name: "/abs", Typeflag: tar.TypeReg, Size: 3},
		{Name: "a/.wh..wh..opq", Typeflag: tar.TypeReg}, {Name: "b/.wh..", Typeflag: tar.TypeReg}, {Name: "c/.wh.x", Typeflag: tar.TypeReg},
		{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../../../etc/shadow"}, {Name: "h", Typeflag: tar.TypeLink, Linkname: "/abs"},
		{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3},
	} {
		tw.WriteHeader(&h)
		if h.Size > 0 {
			tw.Write([]byte("abc"))
		}
	}
	tw.Close()
	writeSeed(t, "FuzzReadLayer", "crafted-tar", tb.Bytes())
	var gb bytes.Buffer
	zw := gzip.NewWriter(&gb)
	zw.Write(tb.Bytes())
	zw.Close()
	writeSeed(t, "FuzzReadLayer", "crafted-gzip", gb.Bytes())
	enc, _ := zstd.NewWriter(nil)
	writeSeed(t, "FuzzReadLayer", "crafted-zstd", enc.EncodeAll(tb.Bytes(), nil))
}

func writeSeed(t *testing.T, fuzz, name string, values ...any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range values {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			if !utf8.ValidString(v) {
				t.Fatalf("seed %s: invalid UTF-8 string", name)
			}
			fmt.Fprintf(&b, "string(%q)\n", v)
		default:
			t.Fatal(errors.New("unsupported seed type"))
		}
	}
	dir := filepath.Join("testdata", "fuzz", fuzz)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
