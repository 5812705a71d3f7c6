package crawl_test

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor/crawl"
)

// artifact is a manifest of one layer with the given media types.
func artifact(t *testing.T, layerType types.MediaType, body string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte(body), layerType))
	if err != nil {
		t.Fatal(err)
	}
	return mutate.MediaType(img, types.OCIManifestSchema1)
}

// TestArtifactsSkipped: a multi-platform image with a BuildKit attestation
// child, a cosign signature and a Helm chart in the same registry: the
// image is indexed, the others are skipped without an error, scan after
// scan.
func TestArtifactsSkipped(t *testing.T) {
	reg := memRegistry(t)
	app, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	app = mutate.MediaType(app, types.OCIManifestSchema1)
	att := artifact(t, "application/vnd.in-toto+json", `{"_type":"https://in-toto.io/Statement/v0.1"}`)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: app, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"}}})
	if err := remote.WriteIndex(mustTag(t, reg+"/team/app:1"), idx); err != nil {
		t.Fatal(err)
	}
	sig := artifact(t, "application/vnd.dev.cosign.simplesigning.v1+json", `{"critical":{}}`)
	if err := remote.Write(mustTag(t, reg+"/team/app:sha256-0123.sig"), sig); err != nil {
		t.Fatal(err)
	}
	// A Helm chart: its config is no image configuration (its blobs are not
	// even pushed: nothing past the manifest is read).
	pushRaw(t, reg+"/charts/app:1.0.0", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
		"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:`+strings.Repeat("a", 64)+`","size":30},
		"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"sha256:`+strings.Repeat("b", 64)+`","size":900}]}`),
		types.OCIManifestSchema1)

	db := tempDB(t)
	res := &result{db: db}
	for i := 1; i <= 2; i++ {
		var requests countingTransport
		stats, errs := scanInto(t, db, crawl.Options{Transport: &requests}, reg)
		if len(errs) > 0 {
			res.errs = errs
			t.Fatalf("scan %d: %s", i, res.messages())
		}
		if stats.Images != 1 || stats.Artifacts != 2 {
			t.Errorf("scan %d: %d images, %d artifacts; want 1 and 2 (signature and chart)", i, stats.Images, stats.Artifacts)
		}
		// Known artifacts, like indexed images, cost one HEAD per tag.
		if n := requests.counts["GET manifest"]; i == 2 && n != 0 {
			t.Errorf("scan %d fetched %d manifests; want none: %v", i, n, requests.counts)
		}
	}
	if got := res.strings(t, `SELECT t.repository || ':' || t.tag || ' ' || a.reason FROM tags t JOIN artifacts a ON a.digest = t.digest ORDER BY 1`); len(got) != 2 ||
		!strings.Contains(got[0], "charts/app:1.0.0 config media type application/vnd.cncf.helm.config.v1+json") ||
		!strings.Contains(got[1], "team/app:sha256-0123.sig layer sha256:") {
		t.Errorf("artifacts by tag: %q", got)
	}
	if got := res.strings(t, `SELECT repository || ' ' || os || '/' || architecture FROM images`); strings.Join(got, ",") != "team/app linux/amd64" {
		t.Errorf("images: %v", got)
	}
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
