package crawl_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/internal/indextest"
)

// memRegistry starts go-containerregistry's in-process registry.
func memRegistry(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL)
	return u.Host
}

// rawManifest is a manifest pushed byte for byte.
type rawManifest struct {
	body []byte
	mt   types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.body, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

func pushRaw(t *testing.T, ref string, body []byte, mt types.MediaType) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(r, rawManifest{body, mt}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func push(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}

type result struct {
	db   *index.DB
	errs []auditor.ScanError
}

func (r *result) messages() string {
	var m []string
	for _, e := range r.errs {
		m = append(m, e.Repository+":"+e.Reference+": "+e.Message)
	}
	sort.Strings(m)
	return strings.Join(m, "\n")
}

func (r *result) strings(t *testing.T, q string, args ...any) []string {
	t.Helper()
	return indextest.Strings(t, r.db.Reader(), q, args...)
}

func scan(t *testing.T, opts crawl.Options, targets ...string) *result {
	t.Helper()
	db := tempDB(t)
	_, errs := scanInto(t, db, opts, targets...)
	return &result{db: db, errs: errs}
}

func TestUnsupportedManifests(t *testing.T) {
	reg := memRegistry(t)
	schema1 := []byte(`{"schemaVersion":1,"name":"old/app","tag":"v1","architecture":"amd64","fsLayers":[],"history":[]}`)
	pushRaw(t, reg+"/old/app:v1", schema1, types.DockerManifestSchema1Signed)
	pushRaw(t, reg+"/odd/app:v1", []byte(`{"hello":"world"}`), "application/x-made-up")
	img, _ := random.Image(100, 1)
	push(t, reg+"/good/app:v1", img)

	res := scan(t, crawl.Options{}, reg)
	msgs := res.messages()
	if !strings.Contains(msgs, "old/app:v1: ") || !strings.Contains(msgs, "schema 1") {
		t.Errorf("schema1: errors %q", msgs)
	}
	if !strings.Contains(msgs, "odd/app:v1: ") || !strings.Contains(msgs, `unsupported manifest: media type "application/x-made-up"`) {
		t.Errorf("made-up media type: errors %q", msgs)
	}
	if got := res.strings(t, `SELECT repository FROM images`); strings.Join(got, ",") != "good/app" {
		t.Errorf("images %v, want the good one only", got)
	}
}

func indexOf(t *testing.T, children ...v1.Descriptor) []byte {
	t.Helper()
	b, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: children})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIndexes(t *testing.T) {
	reg := memRegistry(t)
	var children []v1.Descriptor
	var images []v1.Image
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}, {OS: "linux", Architecture: "s390x"}} {
		img, _ := random.Image(64, 1)
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = p.OS, p.Architecture // the config leaves the variant out
		img, _ = mutate.ConfigFile(img, cf)
		d, _ := img.Digest()
		push(t, reg+"/multi/app@"+d.String(), img)
		images = append(images, img)
		raw, _ := img.RawManifest()
		children = append(children, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw)), Platform: &p})
	}
	top := pushRaw(t, reg+"/multi/app:v1", indexOf(t, children...), types.OCIImageIndex)

	// Indexes nested deeper than crawl allows.
	push(t, reg+"/nested/app@"+children[0].Digest.String(), images[0])
	nested := indexOf(t, children[0])
	for range 6 {
		d := pushRaw(t, reg+"/nested/app:tmp", nested, types.OCIImageIndex)
		h, _ := v1.NewHash(d)
		nested = indexOf(t, v1.Descriptor{MediaType: types.OCIImageIndex, Digest: h, Size: int64(len(nested))})
	}
	pushRaw(t, reg+"/nested/app:deep", nested, types.OCIImageIndex)

	res := scan(t, crawl.Options{}, reg+"/multi/app:v1", reg+"/nested/app:deep")
	got := res.strings(t, `SELECT os || '/' || architecture || COALESCE('/' || variant, '') || ' ' || index_digest FROM images WHERE repository = 'multi/app' ORDER BY 1`)
	want := []string{"linux/amd64 " + top, "linux/arm64/v8 " + top, "linux/s390x " + top}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("platforms:\n got %v\nwant %v", got, want)
	}
	if msgs := res.messages(); !strings.Contains(msgs, "nested/app:deep: ") || !strings.Contains(msgs, "nested more than") {
		t.Errorf("deep nesting: errors %q", msgs)
	}

	// A platform filter keeps only matching children.
	res = scan(t, crawl.Options{Platforms: []string{"linux/arm64"}}, reg+"/multi/app:v1")
	if got := res.strings(t, `SELECT architecture FROM images`); strings.Join(got, ",") != "arm64" {
		t.Errorf("platform filter linux/arm64: %v", got)
	}
	res = scan(t, crawl.Options{Registries: map[string]crawl.Registry{reg: {Platforms: []string{"linux/amd64", "linux/s390x"}}}}, reg+"/multi/app:v1")
	if got := res.strings(t, `SELECT architecture FROM images ORDER BY 1`); strings.Join(got, ",") != "amd64,s390x" {
		t.Errorf("per-registry platform filter: %v", got)
	}
}

func TestRepositorySelection(t *testing.T) {
	reg := memRegistry(t)
	for _, r := range []string{"team-a/api", "team-a/web", "team-b/api", "team-b/sub/deep", "sandbox/x"} {
		img, _ := random.Image(32, 1)
		push(t, reg+"/"+r+":v1", img)
	}
	repos := func(opts crawl.Options) string {
		t.Helper()
		res := scan(t, opts, reg)
		if len(res.errs) > 0 {
			t.Fatal(res.messages())
		}
		return strings.Join(res.strings(t, `SELECT DISTINCT repository FROM images ORDER BY 1`), ",")
	}
	tests := []struct {
		cfg  crawl.Registry
		want string
	}{
		{crawl.Registry{}, "sandbox/x,team-a/api,team-a/web,team-b/api,team-b/sub/deep"},
		{crawl.Registry{Include: []string{"team-*/api"}}, "team-a/api,team-b/api"},
		{crawl.Registry{Include: []string{"team-b/**"}}, "team-b/api,team-b/sub/deep"},
		{crawl.Registry{Exclude: []string{"sandbox/*", "**/deep"}}, "team-a/api,team-a/web,team-b/api"},
		{crawl.Registry{Include: []string{"team-a/*"}, Exclude: []string{"*/web"}}, "team-a/api"},
		{crawl.Registry{Repositories: []string{"team-b/api", "sandbox/x"}}, "sandbox/x,team-b/api"},
	}
	for _, tt := range tests {
		if got := repos(crawl.Options{Registries: map[string]crawl.Registry{reg: tt.cfg}}); got != tt.want {
			t.Errorf("%+v: repositories %s, want %s", tt.cfg, got, tt.want)
		}
	}
	// Many targets at once (more than the enumerators that run together).
	var targets []string
	for _, r := range []string{"team-a/api", "team-a/web", "team-b/api", "team-b/sub/deep", "sandbox/x"} {
		targets = append(targets, reg+"/"+r, reg+"/"+r+":v1")
	}
	res := scan(t, crawl.Options{Jobs: 1}, targets...)
	if got := res.strings(t, `SELECT count(DISTINCT repository) FROM images`); len(res.errs) > 0 || strings.Join(got, "") != "5" {
		t.Errorf("10 targets: %v repositories, errors %q", got, res.messages())
	}
	if _, err := crawl.New(nil, crawl.Options{Registries: map[string]crawl.Registry{reg: {Include: []string{"[bad"}}}}); err == nil {
		t.Error("bad glob accepted")
	}
	if _, err := crawl.New(nil, crawl.Options{Jobs: -1}); err == nil {
		t.Error("negative jobs accepted")
	}
	if _, err := crawl.New(nil, crawl.Options{Platforms: []string{"linux/amd64/v1/extra/x"}}); err == nil {
		t.Error("bad platform accepted")
	}
}

// TestSharedLayersReadOnce: images sharing layers, scanned together, read
// each blob once.
func TestSharedLayersReadOnce(t *testing.T) {
	reg := memRegistry(t)
	base, _ := random.Image(4096, 2)
	for i := range 4 {
		top, _ := random.Layer(512, types.DockerLayer)
		img, _ := mutate.AppendLayers(base, top)
		push(t, reg+"/shared/app:v"+string(rune('0'+i)), img)
	}
	var ct countingTransport
	res := scan(t, crawl.Options{Transport: &ct}, reg)
	if len(res.errs) > 0 {
		t.Fatal(res.messages())
	}
	// 2 shared + 4 own layers, and 4 configs.
	if got := ct.counts["GET blob"]; got != 6+4 {
		t.Errorf("%d blob GETs, want 10: %v", got, ct.counts)
	}
	_ = empty.Image
}

// TestCatalogPaging pages through the real registry's catalog and tag lists
// a few entries at a time (Link headers).
func TestCatalogPaging(t *testing.T) {
	reg := fleettest.Registry(t)
	opts := fleettest.Options(t)
	opts.PageSize = 2
	res := scan(t, opts, reg)
	if len(res.errs) > 0 {
		t.Fatal(res.messages())
	}
	got := res.strings(t, `SELECT repository || ':' || tag FROM tags ORDER BY 1`)
	var want []string
	for _, tg := range fleettest.Tags(t) {
		want = append(want, tg.Repository+":"+tg.Tag)
	}
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("tags with page size 2:\n got %v\nwant %v", got, want)
	}
}
