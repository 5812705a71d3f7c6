package crawl_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/auditor-dev/auditor/crawl"
)

// TestEverySourceOneWalker scans one image of two gzip layers from a
// registry, an OCI layout, an OCI archive and a docker archive (its
// layers gzipped too, as go-containerregistry's tarball writes them): each
// source gives the same config, platform, history and visible files, and
// the docker archive, like the others, fails an image whose config is over
// max_config_bytes, naming the cap.
func TestEverySourceOneWalker(t *testing.T) {
	t.Parallel()
	base, err := random.Image(300, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config.User = "linux", "arm64", "nobody"
	cf.History = []v1.History{{CreatedBy: "ADD one"}, {CreatedBy: "ADD two"}}
	img, err := mutate.ConfigFile(base, cf)
	if err != nil {
		t.Fatal(err)
	}
	big, err := mutate.Config(img, v1.Config{Labels: map[string]string{"pad": strings.Repeat("x", 2<<20)}})
	if err != nil {
		t.Fatal(err)
	}

	r := newHostileRegistry(t)
	if err := remote.Write(r.repo("same/app").Tag("v1"), img); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "v1"})); err != nil {
		t.Fatal(err)
	}
	ociArchive := filepath.Join(tmp, "oci.tar")
	tarDir(t, dir, ociArchive)
	docker, bigDocker := filepath.Join(tmp, "docker.tar"), filepath.Join(tmp, "big.tar")
	for p, im := range map[string]v1.Image{docker: img, bigDocker: big} {
		if err := tarball.WriteToFile(p, name.MustParseReference("same/app:v1"), im); err != nil {
			t.Fatal(err)
		}
	}

	db, errs := scanErrors(t, crawl.Options{Limits: crawl.Limits{MaxConfigSize: 1 << 20}},
		crawl.Target{Registry: r.host}, crawl.Target{Source: crawl.SourceOCI, Path: dir},
		crawl.Target{Source: crawl.SourceOCIArchive, Path: ociArchive}, crawl.Target{Source: crawl.SourceDockerArchive, Path: docker},
		crawl.Target{Source: crawl.SourceDockerArchive, Path: bigDocker})
	if got := messages(errs[bigDocker]); !strings.Contains(got, "config exceeds limit: more than max_config_bytes 1048576") {
		t.Errorf("docker archive over the config cap: errors %q", got)
	}
	delete(errs, bigDocker)
	if len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
	rows, err := db.Reader().Query(`SELECT i.registry, i.config_digest, i.os, i.architecture, i.user,
		(SELECT group_concat(created_by, '|') FROM (SELECT created_by FROM history h WHERE h.image_digest = i.digest ORDER BY position)),
		(SELECT group_concat(path || ' ' || type || ' ' || size || ' ' || coalesce(sha256, ''), '|') FROM
			(SELECT path, type, size, sha256 FROM image_files f WHERE f.image_digest = i.digest AND f.registry = i.registry AND visible ORDER BY path))
		FROM images i ORDER BY i.registry`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var reg string
		var fields [6]string
		if err := rows.Scan(&reg, &fields[0], &fields[1], &fields[2], &fields[3], &fields[4], &fields[5]); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(fields)
		got[reg] = string(b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := got[r.host]
	if want == "" || !strings.Contains(want, `"linux","arm64","nobody","ADD one|ADD two"`) {
		t.Fatalf("from the registry: %s", want)
	}
	for _, reg := range []string{"oci", "oci-archive", "docker-archive"} {
		if got[reg] != want {
			t.Errorf("%s: %s\nregistry: %s", reg, got[reg], want)
		}
	}
}

// TestHostileLocalNames: an OCI layout's ref names and a docker archive's
// RepoTags with escape sequences, bidi controls or spaces are each one
// scan error naming them escaped, and are never recorded; the image under
// a good name is indexed and tagged.
func TestHostileLocalNames(t *testing.T) {
	t.Parallel()
	img, err := random.Image(200, 1)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	badRefs := []string{"v1\x1b[2J\x1b[31mPWN", "bad\u202egat", "two words"}
	for _, ref := range append([]string{"v1"}, badRefs...) {
		if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
			t.Fatal(err)
		}
	}
	// go-containerregistry's tarball writer validates tags: the names are
	// patched into its manifest.json.
	docker := filepath.Join(tmp, "docker.tar")
	badTags := []string{"x/y:v1\x1b]0;owned\x07", "x/\u202ey:1", "x/y:a b"}
	var b bytes.Buffer
	refs := map[name.Reference]v1.Image{}
	for i := range len(badTags) + 1 {
		ref, err := name.ParseReference("x/y:p" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		refs[ref] = img
	}
	if err := tarball.MultiRefWrite(refs, &b); err != nil {
		t.Fatal(err)
	}
	patched := b.Bytes()
	for i, tg := range append([]string{"x/y:1"}, badTags...) {
		old, _ := json.Marshal("x/y:p" + strconv.Itoa(i))
		nw, _ := json.Marshal(tg)
		patched = patchTarFile(t, patched, "manifest.json", string(old), string(nw))
	}
	if err := os.WriteFile(docker, patched, 0o644); err != nil {
		t.Fatal(err)
	}

	db, errs := scanErrors(t, crawl.Options{}, crawl.Target{Source: crawl.SourceOCI, Path: dir}, crawl.Target{Source: crawl.SourceDockerArchive, Path: docker})
	abs, _ := filepath.Abs(dir)
	want := map[string]string{}
	shown := func(s string) string { // recorded as it is when printable, else escaped
		if q := strconv.Quote(s); q[1:len(q)-1] != s {
			return q
		}
		return s
	}
	for _, ref := range badRefs {
		want[abs+" "+shown(ref)] = "ref name " + strconv.Quote(ref) + " is not a valid ref name"
	}
	for _, tg := range badTags {
		want[docker+" "+shown(tg)] = "RepoTags entry " + strconv.Quote(tg) + " is not a valid repository:tag"
	}
	got := map[string]string{}
	for _, es := range errs {
		for _, e := range es {
			got[e.Repository+" "+e.Reference] += e.Message
		}
	}
	for k, w := range want {
		if !strings.Contains(got[k], w) {
			t.Errorf("%q: errors %q, want %q", k, got[k], w)
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
	var recorded []string
	rows, err := db.Reader().Query(`SELECT registry || ' ' || tag FROM tags ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		rows.Scan(&s)
		recorded = append(recorded, s)
	}
	if strings.Join(recorded, "|") != "docker-archive x/y:1|oci v1" {
		t.Errorf("tags recorded: %q", recorded)
	}
}

// patchTarFile replaces old by new in the file name of the tar archive.
func patchTarFile(t *testing.T, archive []byte, file, old, new string) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == file {
			body = []byte(strings.ReplaceAll(string(body), old, new))
			h.Size = int64(len(body))
		}
		tw.WriteHeader(h)
		tw.Write(body)
	}
	tw.Close()
	return out.Bytes()
}
