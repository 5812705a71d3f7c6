package crawl_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/internal/indextest"
)

// errorsSay joins the scan errors' messages.
func errorsSay(errs []auditor.ScanError) string {
	var ms []string
	for _, e := range errs {
		ms = append(ms, e.Message)
	}
	return strings.Join(ms, "; ")
}

// TestNamedRepositoryMissing: a repository named as a target, or in a
// registry's repositories list, that the registry does not know (404
// NAME_UNKNOWN) is an error of a registry that answered (Stats.Missing); one
// the catalog lists is scanned as before.
func TestNamedRepositoryMissing(t *testing.T) {
	reg := memRegistry(t)
	pushRandom(t, reg, "team/app:1")
	db := tempDB(t)
	st, errs := scanInto(t, db, crawl.Options{}, reg+"/team/nosuch")
	if len(errs) != 1 || !strings.Contains(errorsSay(errs), "repository "+reg+"/team/nosuch not found") || st.Missing != 1 {
		t.Errorf("scan of a missing repository: %q, missing %d; want one error saying it is not found", errorsSay(errs), st.Missing)
	}
	opts := crawl.Options{Registries: map[string]crawl.Registry{reg: {Repositories: []string{"team/app", "team/gone"}}}}
	st, errs = scanInto(t, db, opts, reg)
	if len(errs) != 1 || !strings.Contains(errorsSay(errs), "team/gone not found") || st.Images != 1 {
		t.Errorf("configured repositories, one missing: %q, %d images; want one error and the other scanned", errorsSay(errs), st.Images)
	}
	scanOK(t, db, reg) // the catalog's repositories all exist
}

// TestPlatformMatchesNothing: a --platform that leaves none of a named
// image's platforms is an error naming those it has; over a repository, an
// error when no image at all matched.
func TestPlatformMatchesNothing(t *testing.T) {
	reg := memRegistry(t)
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	ref, err := name.ParseReference(reg + "/team/multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	s390x := crawl.Options{Platforms: []string{"linux/s390x"}}
	_, errs := scanInto(t, tempDB(t), s390x, reg+"/team/multi:1")
	if len(errs) != 1 || !strings.Contains(errorsSay(errs), "none of its platforms was asked for; it has linux/amd64, linux/arm64") {
		t.Errorf("one image, no platform asked for: %q", errorsSay(errs))
	}
	st, errs := scanInto(t, tempDB(t), s390x, reg+"/team/multi")
	if len(errs) != 1 || !strings.Contains(errorsSay(errs), "no image matched the platforms asked for") || st.PlatformMisses != 1 {
		t.Errorf("a repository, no platform asked for: %q, %d misses", errorsSay(errs), st.PlatformMisses)
	}
	st, errs = scanInto(t, tempDB(t), crawl.Options{Platforms: []string{"linux/arm64"}}, reg+"/team/multi")
	if len(errs) != 0 || st.Images != 1 {
		t.Errorf("linux/arm64: %q, %d images; want 1 and no error", errorsSay(errs), st.Images)
	}
}

// TestLocalIndexWithAttestation: an OCI layout whose index lists a BuildKit
// attestation before its images indexes each image under its own platform
// (the children were matched to the manifests by position, off by one, and
// ran past the end), and a --platform none of them has is an error.
func TestLocalIndexWithAttestation(t *testing.T) {
	att, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	adds := []mutate.IndexAddendum{{Add: att, Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
	}}}
	want := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		want[d.String()] = "linux/" + arch
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "multi"})); err != nil {
		t.Fatal(err)
	}
	db := tempDB(t)
	st, errs := scanInto(t, db, crawl.Options{}, "oci:"+dir+":multi")
	if len(errs) != 0 || st.Images != 2 {
		t.Fatalf("scan: %q, %d images; want 2 and no error", errorsSay(errs), st.Images)
	}
	got := map[string]string{}
	for _, row := range indextest.Strings(t, db.Reader(), `SELECT digest || ' ' || os || '/' || architecture FROM images`) {
		d, p, _ := strings.Cut(row, " ")
		got[d] = p
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("images and platforms: %v, want %v", got, want)
	}
	_, errs = scanInto(t, tempDB(t), crawl.Options{Platforms: []string{"linux/s390x"}}, "oci:"+dir+":multi")
	if len(errs) != 1 || !strings.Contains(errorsSay(errs), "no image matched the platforms asked for") {
		t.Errorf("--platform linux/s390x: %q", errorsSay(errs))
	}
}
