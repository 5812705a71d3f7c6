package crawl_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
)

// The local walker's fuzz targets scan OCI layouts and archives built from
// the fuzz input into one index, through the same walker a registry scan
// uses. They must end (the caps and work bounds hold), never panic, and
// report every failure as a scan error.

// fuzzWalkLimits keep each input cheap.
var fuzzWalkLimits = crawl.Limits{MaxEntries: 10_000, MaxUncompressedSize: 16 << 20, MaxConfigSize: 1 << 20,
	MaxManifestSize: 1 << 20, MaxTagManifests: 50}

func fuzzScan(t *testing.T, db *index.DB, targets ...crawl.Target) {
	c, err := crawl.New(db, crawl.Options{Jobs: 2, Limits: fuzzWalkLimits, OnError: func(e auditor.ScanError) {
		if e.Message == "" {
			t.Errorf("scan error without a message: %+v", e)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Scan(ctx, targets); err != nil {
		t.Fatalf("scan: %v", err)
	}
}

func fuzzDB(f *testing.F) *index.DB {
	db, err := index.Open(context.Background(), filepath.Join(f.TempDir(), "f.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	return db
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Seeds of FuzzLocalLayout: in the blobs, @L, @C, @M and @I stand for the
// digests of the layer, the config, the manifest and the index blob (@l,
// @c, @m, @i for their sizes; @T for the layer's diff_id), so a seed is a
// valid layout that mutations then break.
var (
	seedConfig   = `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:@T"]}}`
	seedManifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:@C","size":@c},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:@L","size":@l}]}`
	seedChild = `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:@M","size":@m,` +
		`"platform":{"os":"linux","architecture":"amd64"}}`
	// A BuildKit attestation child listed first (the old layout walker's
	// index out of range), the image twice.
	seedAttestation = `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:@M","size":@m,` +
		`"platform":{"os":"unknown","architecture":"unknown"},"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}`
)

func fuzzTar(f *testing.F) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "etc/os-release", Mode: 0o644, Size: 8, Typeflag: tar.TypeReg})
	tw.Write([]byte("ID=test\n"))
	tw.Close()
	return b.Bytes()
}

// FuzzLocalLayout scans an OCI layout made of a fuzzed index.json, an
// index blob, an image manifest, its config and its layer.
func FuzzLocalLayout(f *testing.F) {
	layer := fuzzTar(f)
	img := `{"schemaVersion":2,"manifests":[` + seedChild + `]}`
	sub := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` + seedAttestation + `,` + seedChild + `,` + seedChild + `]}`
	viaSub := `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:@I","size":@i,` +
		`"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}`
	f.Add([]byte(img), []byte(sub), []byte(seedManifest), []byte(seedConfig), layer)
	f.Add([]byte(viaSub), []byte(sub), []byte(seedManifest), []byte(seedConfig), layer)
	f.Add([]byte(viaSub), []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:@M","size":@m}]}`),
		[]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`+seedChild+`]}`), []byte(seedConfig), layer)
	f.Add([]byte(`{"schemaVersion":2,"manifests":[`+seedAttestation+`,`+seedChild+`]}`), []byte(`{}`), []byte(seedManifest), []byte(seedConfig), layer)
	f.Add([]byte(`{}`), []byte(`{}`), []byte(`null`), []byte(`[]`), []byte{})
	db := fuzzDB(f)
	f.Fuzz(func(t *testing.T, idx, sub, manifest, config, layer []byte) {
		cfg := bytes.ReplaceAll(config, []byte("@T"), []byte(sha(layer)))
		vals := map[string]string{"@L": sha(layer), "@l": strconv.Itoa(len(layer)), "@C": sha(cfg), "@c": strconv.Itoa(len(cfg))}
		fill := func(b []byte) []byte {
			for k, v := range vals {
				b = bytes.ReplaceAll(b, []byte(k), []byte(v))
			}
			return b
		}
		// Each blob names those below it (one naming itself keeps the
		// placeholder: its digest is not known before).
		man := fill(manifest)
		vals["@M"], vals["@m"] = sha(man), strconv.Itoa(len(man))
		ib := fill(sub)
		vals["@I"], vals["@i"] = sha(ib), strconv.Itoa(len(ib))
		ix := fill(idx)
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755)
		os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
		os.WriteFile(filepath.Join(dir, "index.json"), ix, 0o644)
		for _, b := range [][]byte{ib, man, cfg, layer} {
			os.WriteFile(filepath.Join(dir, "blobs", "sha256", sha(b)), b, 0o644)
		}
		fuzzScan(t, db, crawl.Target{Source: crawl.SourceOCI, Path: dir})
	})
}

// FuzzLocalArchive scans fuzzed bytes as a docker archive and as an OCI
// archive.
func FuzzLocalArchive(f *testing.F) {
	layer := fuzzTar(f)
	cfg := strings.ReplaceAll(seedConfig, "@T", sha(layer))
	for _, files := range [][][2]string{
		{{"manifest.json", `[{"Config":"config.json","RepoTags":["x/y:1"],"Layers":["layer.tar"]}]`}, {"config.json", cfg}, {"layer.tar", string(layer)}},
		{{"manifest.json", `[{"Config":"../config.json","Layers":["layer.tar","layer.tar"]}]`}, {"layer.tar", string(layer)}},
		{{"oci-layout", `{"imageLayoutVersion":"1.0.0"}`}, {"index.json", `{"schemaVersion":2,"manifests":[]}`}},
	} {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, fl := range files {
			tw.WriteHeader(&tar.Header{Name: fl[0], Mode: 0o644, Size: int64(len(fl[1])), Typeflag: tar.TypeReg})
			tw.Write([]byte(fl[1]))
		}
		tw.Close()
		f.Add(b.Bytes())
	}
	db := fuzzDB(f)
	f.Fuzz(func(t *testing.T, archive []byte) {
		p := filepath.Join(t.TempDir(), "a.tar")
		if err := os.WriteFile(p, archive, 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzScan(t, db, crawl.Target{Source: crawl.SourceDockerArchive, Path: p}, crawl.Target{Source: crawl.SourceOCIArchive, Path: p})
	})
}
