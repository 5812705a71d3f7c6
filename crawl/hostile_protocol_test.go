package crawl_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
)

// misbehaving is a real in-process registry behind a handler that
// misbehaves for some requests: bend gets each request first and returns
// true when it answered it itself.
type misbehaving struct {
	*hostileRegistry
	requests atomic.Int64 // answered by bend
	on       atomic.Bool  // bend is called (off while a test pushes)
}

// guard is how many misbehaving answers a test allows before it fails:
// a crawler without the bound under test would go on for ever.
const guard = 500

func newMisbehaving(t *testing.T, bend func(w http.ResponseWriter, r *http.Request) bool) *misbehaving {
	m := &misbehaving{}
	real := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.on.Load() && bend(w, r) {
			if m.requests.Add(1) == guard {
				t.Errorf("%d misbehaving answers and the crawler still asks (%s %s)", guard, r.Method, r.URL)
			}
			return
		}
		real.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	m.hostileRegistry = &hostileRegistry{t: t, host: strings.TrimPrefix(srv.URL, "http://")}
	return m
}

// overGuard reports whether the test's guard was passed: the handler then
// answers 404 so that a crawler without the bound ends.
func (m *misbehaving) overGuard(w http.ResponseWriter) bool {
	if m.requests.Load() >= guard {
		http.Error(w, "guard", http.StatusNotFound)
		return true
	}
	return false
}

// scanErrors scans targets with opts into a new database and returns the
// errors reported, by repository.
func scanErrors(t *testing.T, opts crawl.Options, targets ...crawl.Target) (*index.DB, map[string][]auditor.ScanError) {
	t.Helper()
	db, err := index.Open(context.Background(), filepath.Join(t.TempDir(), "i.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var mu sync.Mutex
	errs := map[string][]auditor.ScanError{}
	opts.OnError = func(e auditor.ScanError) {
		mu.Lock()
		defer mu.Unlock()
		errs[e.Repository] = append(errs[e.Repository], e)
	}
	if opts.Retry.Attempts == 0 {
		opts.Retry = crawl.Retry{Attempts: 2, Backoff: 1}
	}
	cr, err := crawl.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The bound under test is what ends the scan; without it, this does.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cr.Scan(ctx, targets); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return db, errs
}

func messages(es []auditor.ScanError) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Message)
	}
	return strings.Join(s, "; ")
}

// TestRedirectLoop serves a manifest and a blob that 307-redirect to
// themselves: each fails naming the redirects, after a bounded number of
// requests, and the good image beside them is indexed.
func TestRedirectLoop(t *testing.T) {
	t.Parallel()
	var m *misbehaving
	m = newMisbehaving(t, func(w http.ResponseWriter, r *http.Request) bool {
		loop := strings.HasPrefix(r.URL.Path, "/v2/loop/manifest/manifests/") ||
			(strings.HasPrefix(r.URL.Path, "/v2/loop/blob/blobs/") && r.Method == http.MethodGet)
		if !loop {
			return false
		}
		if !m.overGuard(w) {
			http.Redirect(w, r, r.URL.String(), http.StatusTemporaryRedirect)
		}
		return true
	})
	for _, repo := range []string{"loop/manifest", "loop/blob", "good/one"} {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(m.repo(repo).Tag("v1"), img); err != nil {
			t.Fatal(err)
		}
	}
	m.on.Store(true)
	db, errs := scanErrors(t, crawl.Options{}, crawl.Target{Registry: m.host})
	for _, repo := range []string{"loop/manifest", "loop/blob"} {
		if got := messages(errs[repo]); !strings.Contains(got, "redirected more than 10 times") {
			t.Errorf("%s: errors %q, want one naming the redirects", repo, got)
		}
	}
	if len(errs["good/one"]) != 0 {
		t.Errorf("good image: %v", errs["good/one"])
	}
	if n := m.requests.Load(); n > 100 {
		t.Errorf("%d redirects answered: not bounded", n)
	}
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM images WHERE repository = 'good/one'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("good image: %d indexed, %v", n, err)
	}
}

// TestEndlessPages serves a catalog and a tag list whose Link: rel="next"
// never ends: each fails after max_list_pages pages, naming the registry or
// the repository, and the tag listed so far is still indexed.
func TestEndlessPages(t *testing.T) {
	t.Parallel()
	var m *misbehaving
	m = newMisbehaving(t, func(w http.ResponseWriter, r *http.Request) bool {
		var body string
		switch r.URL.Path {
		case "/v2/_catalog":
			body = `{"repositories":["endless/tags"]}`
		case "/v2/endless/tags/tags/list":
			body = `{"name":"endless/tags","tags":["v1"]}`
		default:
			return false
		}
		if !m.overGuard(w) {
			w.Header().Set("Link", fmt.Sprintf(`<%s?n=1&last=p%d>; rel="next"`, r.URL.Path, m.requests.Load()))
			io.WriteString(w, body)
		}
		return true
	})
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(m.repo("endless/tags").Tag("v1"), img); err != nil {
		t.Fatal(err)
	}
	m.on.Store(true)
	opts := crawl.Options{Limits: crawl.Limits{MaxListPages: 5}}
	db, errs := scanErrors(t, opts, crawl.Target{Registry: m.host}, crawl.Target{Registry: m.host, Repository: "endless/tags"})
	for repo, want := range map[string]string{
		"":             "listing repositories of " + m.host + ": list exceeds limit: more than 5 pages (max_list_pages",
		"endless/tags": "listing tags of " + m.host + "/endless/tags: list exceeds limit: more than 5 pages",
	} {
		if got := messages(errs[repo]); !strings.Contains(got, want) {
			t.Errorf("%q: errors %q, want one containing %q", repo, got, want)
		}
	}
	if n := m.requests.Load(); n > 10 {
		t.Errorf("%d pages answered for two lists of at most 5", n)
	}
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM images WHERE repository = 'endless/tags'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the tag listed: %d indexed, %v", n, err)
	}
}

// writeLayout writes an OCI image layout in dir: index.json as given, and
// each blob under its digest.
func writeLayout(t *testing.T, dir string, index []byte, blobs ...[]byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`), "index.json": index}
	for _, b := range blobs {
		files[filepath.Join("blobs", "sha256", strings.TrimPrefix(digestOf(b), "sha256:"))] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// bigConfig is an image config of about size bytes (a huge label).
func bigConfig(layerTar []byte, size int) []byte {
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digestOf(layerTar)}},
		"config": map[string]any{"Labels": map[string]string{"pad": strings.Repeat("x", size)}},
	})
	return cfg
}

// TestConfigCap serves configs over max_config_bytes, one declaring its
// size and one declaring 200 bytes, from a registry and from an OCI
// layout: each fails naming the cap or the size, on both paths.
func TestConfigCap(t *testing.T) {
	t.Parallel()
	r := newHostileRegistry(t)
	plain := tarOf(t, tar.FormatPAX, file("etc/os-release", "ID=test\n"))
	layerBlob := gz(t, plain)
	cfg := bigConfig(plain, 2<<20)
	manifest := func(cfgDesc v1.Descriptor) []byte {
		b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIManifestSchema1, "config": cfgDesc,
			"layers": []v1.Descriptor{{MediaType: types.OCILayer, Size: int64(len(layerBlob)), Digest: hashOf(layerBlob)}}})
		return b
	}
	honest := v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(cfg)), Digest: hashOf(cfg)}
	lying := honest
	lying.Size = 200
	for repo, d := range map[string]v1.Descriptor{"big/honest": honest, "big/lying": lying} {
		r.blob(repo, cfg, types.OCIConfigJSON)
		r.blob(repo, layerBlob, types.OCILayer)
		r.manifest(repo, "v1", types.OCIManifestSchema1, manifest(d))
	}
	dir := t.TempDir()
	var children []v1.Descriptor
	var blobs [][]byte
	for i, d := range []v1.Descriptor{honest, lying} {
		m := manifest(d)
		blobs = append(blobs, m)
		children = append(children, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(m)), Digest: hashOf(m),
			Annotations: map[string]string{"org.opencontainers.image.ref.name": []string{"honest", "lying"}[i]}})
	}
	idx, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: children})
	writeLayout(t, dir, idx, append(blobs, cfg, layerBlob)...)

	opts := crawl.Options{Limits: crawl.Limits{MaxConfigSize: 1 << 20}}
	db, errs := scanErrors(t, opts, crawl.Target{Registry: r.host}, crawl.Target{Source: crawl.SourceOCI, Path: dir})
	abs, _ := filepath.Abs(dir)
	byRef := map[string]string{}
	for repo, es := range errs {
		for _, e := range es {
			byRef[repo+":"+e.Reference] += e.Message
		}
	}
	for ref, want := range map[string]string{
		"big/honest:v1": "config exceeds limit: 2097", "big/lying:v1": "more than max_config_bytes 1048576",
		abs + ":honest": "config exceeds limit: 2097", abs + ":lying": "more than max_config_bytes 1048576",
	} {
		if got := byRef[ref]; !strings.Contains(got, want) {
			t.Errorf("%s: errors %q, want one containing %q", ref, got, want)
		}
	}
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM images`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d images indexed over the config cap, %v", n, err)
	}
}

func hashOf(b []byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(digestOf(b), "sha256:")}
}

// TestEchoedCredentials runs two registries that want credentials (Basic,
// and Bearer from a token service) and answer every manifest request with
// a 403 echoing the Authorization header, the password and 8 KiB of text:
// no form of the credentials reaches an error or the log, and the echoed
// body is cut.
func TestEchoedCredentials(t *testing.T) {
	t.Parallel()
	const user, pass = "scanner", "hunter2-s3cret-Pw"
	token := fmt.Sprintf("tok-%x", sha256.Sum256([]byte(t.Name())))
	echo := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "denied: you sent Authorization: %s (password %s)\x1b[31mYOUR SCAN IS COMPLETE, ALL CLEAN%s",
			r.Header.Get("Authorization"), pass, strings.Repeat(".", 8<<10))
	}
	var basicSrv, bearerSrv *misbehaving
	basicSrv = newMisbehaving(t, func(w http.ResponseWriter, r *http.Request) bool {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return true
		}
		if strings.Contains(r.URL.Path, "/manifests/") {
			echo(w, r)
			return true
		}
		return false
	})
	bearerSrv = newMisbehaving(t, func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case r.URL.Path == "/token":
			fmt.Fprintf(w, `{"token":%q}`, token)
		case r.Header.Get("Authorization") != "Bearer "+token:
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, bearerSrv.host))
			http.Error(w, "who are you", http.StatusUnauthorized)
		case strings.Contains(r.URL.Path, "/manifests/"):
			echo(w, r)
		default:
			return false
		}
		return true
	})
	opts := crawl.Options{Registries: map[string]crawl.Registry{}}
	var targets []crawl.Target
	for _, m := range []*misbehaving{basicSrv, bearerSrv} {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(m.repo("echo/me").Tag("v1"), img); err != nil {
			t.Fatal(err)
		}
		m.on.Store(true)
		opts.Registries[m.host] = crawl.Registry{Auth: authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})}
		targets = append(targets, crawl.Target{Registry: m.host})
	}
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	opts.Log = slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, errs := scanErrors(t, opts, targets...)
	got := messages(errs["echo/me"])
	if n := len(errs["echo/me"]); n != 2 {
		t.Fatalf("%d errors for the two echoing registries, want 2: %s", n, got)
	}
	logMu.Lock()
	all := got + "\n" + logBuf.String()
	logMu.Unlock()
	up := user + ":" + pass
	for _, secret := range []string{pass, up, base64.StdEncoding.EncodeToString([]byte(up)), token} {
		if strings.Contains(all, secret) {
			t.Errorf("secret %q shown: %s", secret, all)
		}
	}
	for _, e := range errs["echo/me"] {
		if !strings.Contains(e.Message, "403") || !strings.Contains(e.Message, "[redacted]") || !strings.Contains(e.Message, "bytes cut]") {
			t.Errorf("error %q: want the status, [redacted] and the body cut", e.Message)
		}
		if len(e.Message) > 2<<10 {
			t.Errorf("error of %d bytes: the body was not cut", len(e.Message))
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestHostileNames serves a catalog and a tag list with names holding
// escape sequences, bidi overrides and path tricks: each is one scan error
// naming it escaped, none is requested, and the good tag is indexed.
func TestHostileNames(t *testing.T) {
	t.Parallel()
	badTags := []string{"v1\x1b[2J\x1b[31mPWN", "bad\u202egat", "../v1", "-v1", strings.Repeat("x", 129)}
	badRepo := "names/Evil\x1b]0;owned\x07"
	var mu sync.Mutex
	var asked []string
	m := newMisbehaving(t, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		asked = append(asked, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/v2/_catalog":
			json.NewEncoder(w).Encode(map[string]any{"repositories": []string{"names/tags", badRepo}})
		case "/v2/names/tags/tags/list":
			json.NewEncoder(w).Encode(map[string]any{"name": "names/tags", "tags": append([]string{"v1"}, badTags...)})
		default:
			return false
		}
		return true
	})
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(m.repo("names/tags").Tag("v1"), img); err != nil {
		t.Fatal(err)
	}
	m.on.Store(true)
	db, errs := scanErrors(t, crawl.Options{}, crawl.Target{Registry: m.host})
	want := map[string]string{strconv.Quote(badRepo): "repository " + strconv.Quote(badRepo) + " is not a valid repository name"}
	for _, tag := range badTags {
		ref := tag // recorded as it is when printable, else escaped
		if q := strconv.Quote(tag); q[1:len(q)-1] != tag {
			ref = q
		}
		want["names/tags:"+ref] = "tag " + strconv.Quote(tag) + " is not a valid tag"
	}
	got := map[string]string{}
	for _, es := range errs {
		for _, e := range es {
			key := e.Repository
			if e.Reference != "" {
				key += ":" + e.Reference
			}
			got[key] += e.Message
		}
	}
	for key, w := range want {
		if !strings.Contains(got[key], w) {
			t.Errorf("%s: errors %q, want %q", key, got[key], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("errors %q, want %d", got, len(want))
	}
	for _, all := range got {
		if strings.ContainsAny(all, "\x1b\x07\u202e") {
			t.Errorf("error shows a raw control character: %q", all)
		}
	}
	for _, p := range asked {
		if strings.Contains(p, "/manifests/") && !strings.HasSuffix(p, "/manifests/v1") && !strings.Contains(p, "sha256:") {
			t.Errorf("requested %q", p)
		}
	}
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM images WHERE repository = 'names/tags'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the good tag: %d indexed, %v", n, err)
	}
}

// TestTagWork pushes the 10^8-visit tag (4 nested indexes, each listing
// the one below 100 times) and a tag of 30 distinct images with
// max_manifests_per_tag = 10: the first is indexed from a handful of
// manifest requests (each distinct manifest fetched once), and a re-scan
// does not expand its indexes again; the second fails naming the tag,
// after a bounded number of requests.
func TestTagWork(t *testing.T) {
	t.Parallel()
	var nested, wideReqs atomic.Int64
	r := newMisbehaving(t, func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case strings.HasPrefix(r.URL.Path, "/v2/work/nested/manifests/"):
			nested.Add(1)
		case strings.HasPrefix(r.URL.Path, "/v2/work/wide/manifests/"):
			wideReqs.Add(1)
		}
		return false
	})
	plain := tarOf(t, tar.FormatPAX, file("etc/os-release", "ID=test\n"))
	d := r.image("work/nested", "", []layer{{blob: gz(t, plain), tar: plain}}, nil)
	for i := range 4 {
		children := make([]v1.Descriptor, 100)
		for k := range children {
			children[k] = d
		}
		body := ociIndex(children...)
		ref := digestOf(body)
		if i == 3 {
			ref = "v1"
		}
		d = r.manifest("work/nested", ref, types.OCIImageIndex, body)
	}
	var wide []v1.Descriptor
	for i := range 30 {
		tb := tarOf(t, tar.FormatPAX, file("etc/n", fmt.Sprint(i)))
		wide = append(wide, r.image("work/wide", "", []layer{{blob: gz(t, tb), tar: tb}}, nil))
	}
	r.manifest("work/wide", "v1", types.OCIImageIndex, ociIndex(wide...))
	r.on.Store(true)

	opts := crawl.Options{Limits: crawl.Limits{MaxTagManifests: 10, MaxIndexDepth: 5}}
	db, errs := scanErrors(t, opts, crawl.Target{Registry: r.host})
	if len(errs["work/nested"]) != 0 {
		t.Errorf("nested: %v", messages(errs["work/nested"]))
	}
	// 5 distinct manifests (4 indexes and the image), each once, and the
	// tag's HEAD: not the 10^8 visits.
	if n := nested.Load(); n > 8 {
		t.Errorf("nested: %d manifest requests for 5 distinct manifests", n)
	}
	if got, want := messages(errs["work/wide"]), "tag v1: manifest exceeds limit: reaches more than 10 manifests (max_manifests_per_tag)"; !strings.Contains(got, want) {
		t.Errorf("wide: errors %q, want %q", got, want)
	}
	if n := wideReqs.Load(); n > 15 {
		t.Errorf("wide: %d manifest requests with max_manifests_per_tag 10", n)
	}
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM images WHERE repository = 'work/nested'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("nested: %d images, %v", n, err)
	}
	if err := db.Reader().QueryRow(`SELECT count(*) FROM images WHERE repository = 'work/wide'`).Scan(&n); err != nil || n > 9 {
		t.Errorf("wide: %d images indexed with max_manifests_per_tag 10 (the index is one)", n)
	}

	// A re-scan into the same index: the nested tag's indexes are indexed,
	// so the tag is resolved and nothing below it is fetched again.
	first := nested.Load()
	cr, err := crawl.New(db, crawl.Options{Limits: opts.Limits, Retry: crawl.Retry{Attempts: 2, Backoff: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cr.Scan(context.Background(), []crawl.Target{{Registry: r.host, Repository: "work/nested"}}); err != nil {
		t.Fatal(err)
	}
	if again := nested.Load() - first; again > 2 {
		t.Errorf("re-scan: %d manifest requests for the indexed nested tag (first scan %d), want at most 2", again, first)
	}
	t.Logf("nested: %d manifest requests, %d on re-scan; wide: %d", first, nested.Load()-first, wideReqs.Load())
}

// TestAttestationInLayout scans one multi-platform index with a BuildKit
// attestation manifest listed first, from an OCI layout and from a
// registry: the same single image is indexed from both, no error (the
// layout walker paired the index's manifests with the children left after
// dropping attestations, and panicked).
func TestAttestationInLayout(t *testing.T) {
	t.Parallel()
	plain := tarOf(t, tar.FormatPAX, file("etc/os-release", "ID=test\n"))
	layerBlob := gz(t, plain)
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digestOf(plain)}}})
	img, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIManifestSchema1,
		"config": v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(cfg)), Digest: hashOf(cfg)},
		"layers": []v1.Descriptor{{MediaType: types.OCILayer, Size: int64(len(layerBlob)), Digest: hashOf(layerBlob)}}})
	attCfg := []byte(`{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}`)
	statement := []byte(`{"_type":"https://in-toto.io/Statement/v0.1"}`)
	att, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIManifestSchema1,
		"config": v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(attCfg)), Digest: hashOf(attCfg)},
		"layers": []v1.Descriptor{{MediaType: "application/vnd.in-toto+json", Size: int64(len(statement)), Digest: hashOf(statement)}}})
	imgDesc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(img)), Digest: hashOf(img),
		Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}
	attDesc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(att)), Digest: hashOf(att),
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": imgDesc.Digest.String()}}
	idx, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{attDesc, imgDesc}})
	top, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
		MediaType: types.OCIImageIndex, Size: int64(len(idx)), Digest: hashOf(idx),
		Annotations: map[string]string{"org.opencontainers.image.ref.name": "v1"}}}})
	dir := t.TempDir()
	writeLayout(t, dir, top, idx, img, att, cfg, attCfg, layerBlob, statement)

	r := newHostileRegistry(t)
	for _, b := range [][]byte{cfg, attCfg, layerBlob, statement} {
		r.blob("att/app", b, types.OCILayer)
	}
	r.manifest("att/app", imgDesc.Digest.String(), types.OCIManifestSchema1, img)
	r.manifest("att/app", attDesc.Digest.String(), types.OCIManifestSchema1, att)
	r.manifest("att/app", "v1", types.OCIImageIndex, idx)

	db, errs := scanErrors(t, crawl.Options{}, crawl.Target{Source: crawl.SourceOCI, Path: dir}, crawl.Target{Registry: r.host})
	if len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
	rows, err := db.Reader().Query(`SELECT registry, digest FROM images ORDER BY registry`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var reg, dig string
		if err := rows.Scan(&reg, &dig); err != nil {
			t.Fatal(err)
		}
		got = append(got, reg+" "+dig)
	}
	if want := []string{r.host + " " + imgDesc.Digest.String(), "oci " + imgDesc.Digest.String()}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("images %v, want %v", got, want)
	}
}

// TestBadHeaderIsDigestMismatch serves layer blobs whose first bytes are
// damaged (gzip flags with reserved bits, the gzip magic, the tar header of
// an uncompressed layer), so that the decoder gives up at once: from a
// registry and from an OCI layout, each is reported as the digest mismatch
// it is, the whole blob hashed, with the decoder's error after it (it was
// reported as "gzip: invalid header").
func TestBadHeaderIsDigestMismatch(t *testing.T) {
	t.Parallel()
	at := func(b []byte, i int, v byte) []byte { c := bytes.Clone(b); c[i] = v; return c }
	type damaged struct {
		repo                string
		plain, good, served []byte
		decoder             string
	}
	var cases []damaged
	for _, c := range []struct {
		repo    string
		gzip    bool
		at      int
		v       byte
		decoder string
	}{
		{"bad/gzip-flags", true, 3, 0xe0, "gzip: invalid header"},
		{"bad/gzip-magic", true, 0, 0, "reading tar after 0 entries"},
		{"bad/tar-header", false, 100, 'x', "archive/tar: invalid tar header"},
	} {
		plain := tarOf(t, tar.FormatPAX, file("etc/os-release", "ID="+c.repo+"\n"+strings.Repeat("x", 5000)))
		good := plain
		if c.gzip {
			good = gz(t, plain)
		}
		cases = append(cases, damaged{c.repo, plain, good, at(good, c.at, c.v), c.decoder})
	}
	served := map[string][]byte{}
	for _, c := range cases {
		served["/blobs/"+digestOf(c.good)] = c.served
	}
	m := newMisbehaving(t, func(w http.ResponseWriter, r *http.Request) bool {
		for suffix, b := range served {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, suffix) {
				w.Write(b)
				return true
			}
		}
		return false
	})
	var children []v1.Descriptor
	var blobs [][]byte
	for _, c := range cases {
		mt := types.OCILayer
		if bytes.Equal(c.good, c.plain) {
			mt = types.OCIUncompressedLayer
		}
		m.image(c.repo, "v1", []layer{{blob: c.good, tar: c.plain, mt: mt}}, nil)
		cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": []string{digestOf(c.plain)}}})
		man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIManifestSchema1,
			"config": v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(cfg)), Digest: hashOf(cfg)},
			"layers": []v1.Descriptor{{MediaType: mt, Size: int64(len(c.good)), Digest: hashOf(c.good)}}})
		children = append(children, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(man)), Digest: hashOf(man),
			Annotations: map[string]string{"org.opencontainers.image.ref.name": strings.TrimPrefix(c.repo, "bad/")}})
		blobs = append(blobs, man, cfg)
	}
	idx, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: children})
	dir := t.TempDir()
	writeLayout(t, dir, idx, blobs...)
	for _, c := range cases { // the layout's blob files hold the damaged bytes under the good digest
		if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digestOf(c.good), "sha256:")), c.served, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m.on.Store(true)
	db, errs := scanErrors(t, crawl.Options{}, crawl.Target{Registry: m.host}, crawl.Target{Source: crawl.SourceOCI, Path: dir})
	abs, _ := filepath.Abs(dir)
	for _, c := range cases {
		want := "layer " + digestOf(c.good) + ": digest mismatch: "
		var fromLayout []auditor.ScanError
		for _, e := range errs[abs] {
			if e.Reference == strings.TrimPrefix(c.repo, "bad/") {
				fromLayout = append(fromLayout, e)
			}
		}
		for where, es := range map[string][]auditor.ScanError{"registry": errs[c.repo], "layout": fromLayout} {
			got := messages(es)
			if len(es) != 1 || !strings.HasPrefix(got, want) || !strings.Contains(got, digestOf(c.served)) || !strings.Contains(got, "(and decoding it failed: ") || !strings.Contains(got, c.decoder) {
				t.Errorf("%s from the %s: errors %q, want one starting %q, naming the digest the blob hashes to (%s) and the decoder's %q", c.repo, where, got, want, digestOf(c.served), c.decoder)
			}
		}
	}
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM layers`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d layers indexed from damaged blobs, %v", n, err)
	}
}
