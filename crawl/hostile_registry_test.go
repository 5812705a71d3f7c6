package crawl_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
)

// hostileRegistry is an in-process registry to push crafted images into.
type hostileRegistry struct {
	t    *testing.T
	host string
}

func newHostileRegistry(t *testing.T) *hostileRegistry {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return &hostileRegistry{t: t, host: strings.TrimPrefix(srv.URL, "http://")}
}

func (r *hostileRegistry) repo(repo string) name.Repository {
	n, err := name.NewRepository(r.host + "/" + repo)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// blob uploads b and returns its descriptor with media type mt.
func (r *hostileRegistry) blob(repo string, b []byte, mt types.MediaType) v1.Descriptor {
	r.t.Helper()
	if err := remote.WriteLayer(r.repo(repo), static.NewLayer(b, mt)); err != nil {
		r.t.Fatalf("push blob to %s: %v", repo, err)
	}
	return v1.Descriptor{MediaType: mt, Size: int64(len(b)), Digest: v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(digestOf(b), "sha256:")}}
}

// manifest PUTs body as ref with Content-Type mt and returns its descriptor.
func (r *hostileRegistry) manifest(repo, ref string, mt types.MediaType, body []byte) v1.Descriptor {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, "http://"+r.host+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(body))
	req.Header.Set("Content-Type", string(mt))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		r.t.Fatalf("put manifest %s:%s: %s %s", repo, ref, resp.Status, b)
	}
	return v1.Descriptor{MediaType: mt, Size: int64(len(body)), Digest: v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(digestOf(body), "sha256:")}}
}

// layer is a layer to push: its blob, the tar inside when it has one (for
// the diff_id), and its declared media type.
type layer struct {
	blob, tar []byte
	mt        types.MediaType
}

// image pushes an image of layers tagged tag, with extra manifest fields,
// and returns its manifest descriptor (untagged when tag is "").
func (r *hostileRegistry) image(repo, tag string, layers []layer, extra map[string]any) v1.Descriptor {
	r.t.Helper()
	var diffIDs []string
	var descs []v1.Descriptor
	for _, l := range layers {
		mt := l.mt
		if mt == "" {
			mt = types.OCILayer
		}
		descs = append(descs, r.blob(repo, l.blob, mt))
		d := digestOf(l.blob)
		if l.tar != nil {
			d = digestOf(l.tar)
		}
		diffIDs = append(diffIDs, d)
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
		"config": map[string]any{"Cmd": []string{"/bin/sh"}},
	})
	m := map[string]any{
		"schemaVersion": 2, "mediaType": types.OCIManifestSchema1,
		"config": r.blob(repo, cfg, types.OCIConfigJSON), "layers": descs,
	}
	for k, v := range extra {
		m[k] = v
	}
	body, _ := json.Marshal(m)
	ref := tag
	if ref == "" {
		ref = digestOf(body)
	}
	return r.manifest(repo, ref, types.OCIManifestSchema1, body)
}

func ociIndex(children ...v1.Descriptor) []byte {
	for i := range children {
		children[i].Platform = &v1.Platform{OS: "linux", Architecture: "amd64"}
	}
	b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIImageIndex, "manifests": children})
	return b
}

// TestHostileRegistry pushes good images and a corpus of hostile ones into
// one registry and scans it: every hostile image gives a clear error or is
// indexed with its oddities recorded, and every good image is indexed.
func TestHostileRegistry(t *testing.T) {
	t.Parallel()
	r := newHostileRegistry(t)
	var good []string
	for _, repo := range []string{"good/one", "good/two"} {
		img, err := random.Image(4096, 3)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r.repo(repo).Tag("v1"), img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		good = append(good, d.String())
	}

	// Layers from the corpus, one image each: repository -> error wanted
	// ("" = indexed).
	want := map[string]string{}
	for i, c := range hostileLayers(t) {
		repo := fmt.Sprintf("bad/layer-%02d", i)
		r.image(repo, "v1", []layer{{blob: c.blob}}, nil)
		want[repo] = c.wantErr
	}

	// A layer whose media type says gzip but holds zstd: indexed as zstd.
	plain := tarOf(t, tar.FormatPAX, file("etc/os-release", "ID=test\n"))
	r.image("bad/lying-layer-type", "v1", []layer{{blob: zst(t, plain), tar: plain, mt: types.OCILayer}}, nil)
	want["bad/lying-layer-type"] = ""

	// Indexes nested deeper than the cap.
	d := r.image("bad/deep-index", "", []layer{{blob: gz(t, plain), tar: plain}}, nil)
	for i := range 6 {
		body := ociIndex(d)
		ref := digestOf(body)
		if i == 5 {
			ref = "v1"
		}
		d = r.manifest("bad/deep-index", ref, types.OCIImageIndex, body)
	}
	want["bad/deep-index"] = "nested more than 4 deep"

	// A manifest over the size cap.
	r.image("bad/huge-manifest", "v1", []layer{{blob: gz(t, plain), tar: plain}},
		map[string]any{"annotations": map[string]string{"pad": strings.Repeat("x", 5<<20)}})
	want["bad/huge-manifest"] = "max_manifest_bytes"

	// An image manifest served as an index (no mediaType field in it): the
	// content decides, so it is indexed.
	cfgDesc := r.blob("bad/served-as-index", []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["`+digestOf(plain)+`"]}}`), types.OCIConfigJSON)
	body, _ := json.Marshal(map[string]any{"schemaVersion": 2, "config": cfgDesc,
		"layers": []v1.Descriptor{r.blob("bad/served-as-index", gz(t, plain), types.OCILayer)}})
	r.manifest("bad/served-as-index", "v1", types.OCIImageIndex, body)
	want["bad/served-as-index"] = ""

	// A manifest whose own mediaType says index but which is an image.
	body, _ = json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIImageIndex, "config": cfgDesc,
		"layers": []v1.Descriptor{r.blob("bad/lying-manifest", gz(t, plain), types.OCILayer)}})
	r.blob("bad/lying-manifest", []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["`+digestOf(plain)+`"]}}`), types.OCIConfigJSON)
	r.manifest("bad/lying-manifest", "v1", types.OCIManifestSchema1, body)
	want["bad/lying-manifest"] = "declares an index but lists no manifests"

	// A config that is a layer blob.
	lb := r.blob("bad/config-is-layer", gz(t, plain), types.OCILayer)
	body, _ = json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIManifestSchema1,
		"config": v1.Descriptor{MediaType: types.OCIConfigJSON, Size: lb.Size, Digest: lb.Digest}, "layers": []v1.Descriptor{lb}})
	r.manifest("bad/config-is-layer", "v1", types.OCIManifestSchema1, body)
	want["bad/config-is-layer"] = "config"

	db, err := index.Open(context.Background(), filepath.Join(t.TempDir(), "i.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	errs := map[string][]string{}
	cr, err := crawl.New(db, crawl.Options{
		Limits: corpusLimits,
		OnError: func(e auditor.ScanError) {
			mu.Lock()
			defer mu.Unlock()
			errs[e.Repository] = append(errs[e.Repository], e.Message)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cr.Scan(context.Background(), []crawl.Target{{Registry: r.host}}); err != nil {
		t.Fatalf("scan: %v", err)
	}

	indexed := map[string]bool{}
	rows, err := db.Reader().Query(`SELECT repository, digest FROM images`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var repo, dig string
		if err := rows.Scan(&repo, &dig); err != nil {
			t.Fatal(err)
		}
		indexed[repo] = true
		indexed[dig] = true
	}
	rows.Close()
	for _, d := range good {
		if !indexed[d] {
			t.Errorf("good image %s not indexed", d)
		}
	}
	for repo, wantErr := range want {
		got := strings.Join(errs[repo], "; ")
		switch {
		case wantErr == "" && (got != "" || !indexed[repo]):
			t.Errorf("%s: not indexed (errors: %s)", repo, got)
		case wantErr != "" && !strings.Contains(got, wantErr):
			t.Errorf("%s: errors %q, want one containing %q", repo, got, wantErr)
		case wantErr != "" && indexed[repo]:
			t.Errorf("%s: indexed despite %q", repo, got)
		}
	}
	if len(errs) != 0 && len(errs["good/one"])+len(errs["good/two"]) != 0 {
		t.Errorf("errors for good images: %v %v", errs["good/one"], errs["good/two"])
	}

	// The layer whose media type lies is recorded with what it holds.
	var compression string
	err = db.Reader().QueryRow(`SELECT l.compression FROM layers l JOIN image_layers il ON il.layer_digest = l.digest
		JOIN images i ON i.digest = il.image_digest WHERE i.repository = 'bad/lying-layer-type'`).Scan(&compression)
	if err != nil || compression != "zstd" {
		t.Errorf("lying layer: compression %q, %v; want zstd", compression, err)
	}
}
