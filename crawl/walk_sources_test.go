package crawl_test

import (
	"encoding/json"
	"path/filepath"
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
