package crawl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor"
)

// Local images are recorded under a pseudo-registry named after their source
// (docker-archive, oci, oci-archive), with the absolute path of the file or
// directory as repository, and tags from the archive (docker RepoTags, OCI
// ref names). An OCI layout or archive is walked by the registry's walker
// (walk.go): localSource only opens its manifests and blobs. A docker
// archive has no manifests: its images go to the same image code. An OCI blob already indexed (same digest)
// is not read again; nor is a docker archive layer whose diff_id is already
// indexed (from a registry or another archive).

// refNameAnnotation names an image in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// localJob is one image (or index) of a local source.
type localJob struct {
	src    *localSource
	ref    string // tag or ref name; "" for none
	desc   v1.Descriptor
	docker *tarball.Descriptor // for docker archives
	// bad is why ref is not recorded: a name with control characters or
	// outside the grammar, reported and not walked.
	bad error
}

// localSource is an opened local input, shared by its jobs.
type localSource struct {
	sem *slots // layer reads from local sources
	// maxManifest bounds index.json, manifest.json and manifest blobs, as
	// max_manifest_bytes bounds a registry's.
	maxManifest int64
	kind        string
	repo        auditor.Repo
	fsys        fs.FS
}

func (j localJob) run(ctx context.Context, c *Crawler) {
	fail := func(layer string, err error) {
		c.fail(ctx, auditor.ScanError{Registry: j.src.kind, Repository: j.src.repo.Name, Reference: shown(j.ref), LayerDigest: layer, Message: err.Error()})
	}
	if j.bad != nil {
		fail("", j.bad)
		return
	}
	var src source = j.src
	desc := j.desc
	if j.docker != nil {
		ds, d, err := j.src.dockerImage(*j.docker, c.opts.Limits.configSize())
		if err != nil {
			fail("", err)
			return
		}
		src, desc = ds, d
	}
	digest := desc.Digest.String()
	specs, _ := parsePlatforms(c.opts.Platforms) // checked by New
	what := "ref name " + shown(j.ref)
	if j.ref == "" {
		what = digest
	}
	w := &walk{src: src, repo: j.src.repo, ref: j.ref, platforms: specs, fail: fail, what: what}
	c.walkDigest(ctx, w, desc, via{}, 0, fail)
	if j.ref != "" {
		if err := c.sink.PutTag(ctx, j.src.repo, j.ref, digest); err != nil {
			fail("", err)
		}
	}
}

func layerOf(err error) string {
	var le *layerError
	if errors.As(err, &le) {
		return le.digest
	}
	return ""
}

// enumerateLocal opens a local target and sends a job for each image in it.
func (c *Crawler) enumerateLocal(ctx context.Context, t Target, out chan<- job) {
	abs, err := filepath.Abs(t.Path)
	if err != nil {
		abs = t.Path
	}
	src := &localSource{sem: c.localSem, maxManifest: c.opts.Limits.manifestSize(), kind: t.Source, repo: auditor.Repo{Registry: t.Source, Name: abs}}
	fail := func(err error) {
		c.fail(ctx, auditor.ScanError{Registry: t.Source, Repository: abs, Reference: t.Tag, Message: err.Error()})
	}
	c.stats.repos.Add(1)
	defer c.stats.reposDone.Add(1)
	var jobs []job
	switch t.Source {
	case SourceOCI:
		st, err := os.Stat(abs)
		if err != nil {
			fail(err)
			return
		}
		if !st.IsDir() {
			fail(fmt.Errorf("%s is not a directory (an OCI image layout); scan a tar of one as oci-archive:PATH", abs))
			return
		}
		src.fsys = os.DirFS(abs)
		jobs, err = src.ociJobs(t.Tag)
		if err != nil {
			fail(err)
			return
		}
	case SourceOCIArchive, SourceDockerArchive:
		tfs, err := openTarFS(abs)
		if err != nil {
			fail(err)
			return
		}
		c.closeAtEnd(tfs) // open until the scan's jobs are done
		src.fsys = tfs
		if t.Source == SourceOCIArchive {
			jobs, err = src.ociJobs(t.Tag)
		} else {
			jobs, err = src.dockerJobs()
		}
		if err != nil {
			fail(err)
			return
		}
	default:
		fail(fmt.Errorf("unknown local source %q", t.Source))
		return
	}
	for _, j := range jobs {
		c.stats.tags.Add(1)
		select {
		case out <- j:
		case <-ctx.Done():
			return
		}
	}
}

// ociJobs lists the images of an OCI layout's index.json, or the one named
// ref.
func (s *localSource) ociJobs(ref string) ([]job, error) {
	if b, err := fs.ReadFile(s.fsys, "oci-layout"); err != nil {
		return nil, fmt.Errorf("not an OCI image layout (oci-layout: %w)", err)
	} else if !bytes.Contains(b, []byte(`"imageLayoutVersion"`)) {
		return nil, fmt.Errorf("not an OCI image layout: oci-layout has no imageLayoutVersion")
	}
	raw, err := s.readLimited("index.json")
	if err != nil {
		return nil, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	var jobs []job
	for _, d := range idx.Manifests {
		name := d.Annotations[refNameAnnotation]
		if ref != "" && name != ref {
			continue
		}
		j := localJob{src: s, ref: name, desc: d}
		if name != "" {
			j.bad = checkRefName(name)
		}
		jobs = append(jobs, j)
	}
	if ref != "" && len(jobs) == 0 {
		return nil, fmt.Errorf("no image named %q in index.json", ref)
	}
	return jobs, nil
}

// dockerJobs lists the images of a docker save tarball's manifest.json.
func (s *localSource) dockerJobs() ([]job, error) {
	m, err := s.dockerManifest()
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("manifest.json lists no image")
	}
	var jobs []job
	for i := range m {
		d := &m[i]
		if len(d.RepoTags) == 0 {
			jobs = append(jobs, localJob{src: s, docker: d})
		}
		for _, tag := range d.RepoTags {
			jobs = append(jobs, localJob{src: s, ref: tag, docker: d, bad: checkRepoTag(tag)})
		}
	}
	return jobs, nil
}

// dockerManifest reads a docker save tarball's manifest.json.
func (s *localSource) dockerManifest() (tarball.Manifest, error) {
	raw, err := s.readLimited("manifest.json")
	if err != nil {
		return nil, fmt.Errorf("not a docker archive: %w", err)
	}
	var m tarball.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	return m, nil
}

// blobPath is where an OCI layout keeps a blob.
func blobPath(h v1.Hash) string { return path.Join("blobs", h.Algorithm, h.Hex) }

// readBlob reads a small blob and checks its digest.
func (s *localSource) readBlob(d v1.Descriptor) ([]byte, error) {
	b, err := s.readLimited(blobPath(d.Digest))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	if got := "sha256:" + hex.EncodeToString(sum[:]); d.Digest.Algorithm == "sha256" && got != d.Digest.String() {
		return nil, fmt.Errorf("%w: blob %s hashes to %s", ErrDigestMismatch, d.Digest, got)
	}
	return b, nil
}

func (s *localSource) readLimited(name string) ([]byte, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, s.maxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(b)) > s.maxManifest {
		return nil, fmt.Errorf("%s: %w: more than max_manifest_bytes %d", name, ErrManifestLimit, s.maxManifest)
	}
	return b, nil
}

var _ source = (*localSource)(nil)

// manifest reads an OCI layout's manifest blob, checking its digest.
func (s *localSource) manifest(_ context.Context, d v1.Descriptor) ([]byte, types.MediaType, error) {
	raw, err := s.readBlob(d)
	return raw, d.MediaType, err
}

func (s *localSource) index(_ context.Context, d v1.Descriptor, raw []byte, mt types.MediaType) (v1.ImageIndex, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return &layoutIndex{s: s, d: d, raw: raw, mt: mt, im: im}, nil
}

func (s *localSource) image(_ context.Context, _ v1.Descriptor, raw []byte, mt types.MediaType) (v1.Image, error) {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&layoutImage{s: s, raw: raw, mt: mt, m: m})
}

// reader: OCI blobs have real digests, which the reader checks (a layer is
// the blob, matched by digest).
func (s *localSource) reader() readerOpts {
	return readerOpts{verify: true, sem: s.sem, redact: plainError}
}

// open opens a blob of the layout as a layer of a manifest that lists it
// (m: its media type and size; the reader checks them).
func (s *localSource) open(h v1.Hash, m *v1.Manifest) *blobLayer {
	b := &blobLayer{digest: h, size: -1, open: func() (io.ReadCloser, error) { return s.fsys.Open(blobPath(h)) }}
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if d.Digest == h {
			b.mt, b.size = d.MediaType, d.Size
			break
		}
	}
	return b
}

// layoutImage is an image manifest of an OCI layout or archive, as
// go-containerregistry's image (partial.CompressedToImage), its blobs read
// from the layout. (go-containerregistry's layout package reads a blob
// whole whatever its size, and reads no archive.)
type layoutImage struct {
	s   *localSource
	raw []byte
	mt  types.MediaType
	m   *v1.Manifest
}

func (i *layoutImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *layoutImage) MediaType() (types.MediaType, error) { return i.mt, nil }
func (i *layoutImage) RawConfigFile() ([]byte, error)      { return i.s.readBlob(i.m.Config) }
func (i *layoutImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	return i.s.open(h, i.m), nil
}

// layoutIndex is an index of an OCI layout or archive, as
// go-containerregistry's v1.ImageIndex.
type layoutIndex struct {
	s   *localSource
	d   v1.Descriptor
	raw []byte
	mt  types.MediaType
	im  *v1.IndexManifest
}

var _ v1.ImageIndex = (*layoutIndex)(nil)

func (x *layoutIndex) MediaType() (types.MediaType, error)       { return x.mt, nil }
func (x *layoutIndex) Digest() (v1.Hash, error)                  { return x.d.Digest, nil }
func (x *layoutIndex) Size() (int64, error)                      { return int64(len(x.raw)), nil }
func (x *layoutIndex) IndexManifest() (*v1.IndexManifest, error) { return x.im, nil }
func (x *layoutIndex) RawManifest() ([]byte, error)              { return x.raw, nil }

func (x *layoutIndex) child(h v1.Hash) (v1.Descriptor, []byte, types.MediaType, error) {
	for _, d := range x.im.Manifests {
		if d.Digest == h {
			raw, declared, err := x.s.manifest(context.Background(), d)
			if err != nil {
				return d, nil, "", err
			}
			mt, _, err := classifyManifest(declared, raw)
			return d, raw, mt, err
		}
	}
	return v1.Descriptor{}, nil, "", fmt.Errorf("index %s lists no manifest %s", x.d.Digest, h)
}

func (x *layoutIndex) Image(h v1.Hash) (v1.Image, error) {
	d, raw, mt, err := x.child(h)
	if err != nil {
		return nil, err
	}
	return x.s.image(context.Background(), d, raw, mt)
}

func (x *layoutIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	d, raw, mt, err := x.child(h)
	if err != nil {
		return nil, err
	}
	return x.s.index(context.Background(), d, raw, mt)
}

// dockerImage reads one image of a docker save tarball's manifest.json:
// its config (under limit bytes) and its layer files, and returns the
// source that serves it to the walker, and its descriptor: the image ID.
func (s *localSource) dockerImage(d tarball.Descriptor, limit int64) (*dockerSource, v1.Descriptor, error) {
	if !fs.ValidPath(path.Clean(d.Config)) {
		return nil, v1.Descriptor{}, fmt.Errorf("manifest.json names config %q, outside the archive", d.Config)
	}
	f, err := s.fsys.Open(path.Clean(d.Config))
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("config: %w", err)
	}
	cfgRaw, err := readCapped(f, limit)
	f.Close()
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("config %s: %w", d.Config, err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("config %s: %w", d.Config, err)
	}
	if len(cf.RootFS.DiffIDs) != len(d.Layers) {
		return nil, v1.Descriptor{}, fmt.Errorf("config lists %d diff_ids, manifest.json %d layers", len(cf.RootFS.DiffIDs), len(d.Layers))
	}
	sum := sha256.Sum256(cfgRaw)
	id := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	ds := &dockerSource{s: s, files: map[v1.Hash]string{id: path.Clean(d.Config)}}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.DockerManifestSchema2,
		Config: v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(cfgRaw)), Digest: id}}
	for i, f := range d.Layers {
		p := path.Clean(f)
		if !fs.ValidPath(p) {
			return nil, v1.Descriptor{}, fmt.Errorf("manifest.json names layer %q, outside the archive", f)
		}
		st, err := fs.Stat(s.fsys, p)
		if err != nil {
			return nil, v1.Descriptor{}, fmt.Errorf("layer %d (%s): %w", i, f, err)
		}
		diff := cf.RootFS.DiffIDs[i]
		ds.files[diff] = p
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.DockerUncompressedLayer, Size: st.Size(), Digest: diff})
	}
	if ds.raw, err = json.Marshal(m); err != nil {
		return nil, v1.Descriptor{}, err
	}
	ds.m = &m
	return ds, v1.Descriptor{Digest: id, MediaType: types.DockerManifestSchema2}, nil
}

// dockerSource serves one image of a docker save tarball: the manifest of
// uncompressed layers that its manifest.json entry and config describe,
// each layer the archive's file of that diff_id (rarely compressed: the
// reader finds out from the bytes and checks the diff_id).
type dockerSource struct {
	s     *localSource
	raw   []byte
	m     *v1.Manifest
	files map[v1.Hash]string // config and layer digests -> file in the archive
}

var _ source = (*dockerSource)(nil)

func (d *dockerSource) manifest(_ context.Context, desc v1.Descriptor) ([]byte, types.MediaType, error) {
	if desc.Digest != d.m.Config.Digest {
		return nil, "", fmt.Errorf("the archive has no image %s", desc.Digest)
	}
	return d.raw, types.DockerManifestSchema2, nil
}

func (d *dockerSource) index(_ context.Context, desc v1.Descriptor, _ []byte, _ types.MediaType) (v1.ImageIndex, error) {
	return nil, fmt.Errorf("a docker archive has no index (%s)", desc.Digest)
}

func (d *dockerSource) image(context.Context, v1.Descriptor, []byte, types.MediaType) (v1.Image, error) {
	return partial.CompressedToImage(d)
}

// A docker archive's layers are known by diff_id only: the reader checks
// it, and one indexed under another digest (from a registry) is reused.
func (d *dockerSource) reader() readerOpts {
	return readerOpts{byDiffID: true, checkDiffID: true, sem: d.s.sem, redact: plainError}
}

// The image of a docker archive, as partial.CompressedImageCore.
func (d *dockerSource) RawManifest() ([]byte, error)        { return d.raw, nil }
func (d *dockerSource) MediaType() (types.MediaType, error) { return types.DockerManifestSchema2, nil }
func (d *dockerSource) RawConfigFile() ([]byte, error) {
	rc, err := d.blob(d.m.Config.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readCapped(rc, d.m.Config.Size)
}

func (d *dockerSource) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	b := &blobLayer{digest: h, size: -1, open: func() (io.ReadCloser, error) { return d.blob(h) }}
	for _, l := range append([]v1.Descriptor{d.m.Config}, d.m.Layers...) {
		if l.Digest == h {
			b.mt, b.size = l.MediaType, l.Size
		}
	}
	return b, nil
}

func (d *dockerSource) blob(h v1.Hash) (io.ReadCloser, error) {
	f, ok := d.files[h]
	if !ok {
		return nil, fmt.Errorf("no blob %s in the archive", h)
	}
	return d.s.fsys.Open(f)
}

func plainError(err error) string { return err.Error() }
