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
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor/index"
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
}

// localSource is an opened local input, shared by its jobs.
type localSource struct {
	sem *slots // layer reads from local sources
	// maxManifest bounds index.json, manifest.json and manifest blobs, as
	// max_manifest_bytes bounds a registry's.
	maxManifest int64
	kind        string
	repo        index.Repo
	fsys        fs.FS
}

func (j localJob) run(ctx context.Context, c *Crawler) {
	fail := func(layer string, err error) {
		c.fail(ctx, index.ScanError{Registry: j.src.kind, Repository: j.src.repo.Name, Reference: shown(j.ref), LayerDigest: layer, Message: err.Error()})
	}
	var digest string
	if j.docker != nil {
		p, err := j.src.dockerImage(*j.docker, c)
		if err != nil {
			fail("", err)
			return
		}
		digest = p.Digest
		if err := c.indexParts(ctx, j.src.repo, j.ref, via{}, p); err != nil {
			fail(layerOf(err), err)
			return
		}
	} else {
		digest = j.desc.Digest.String()
		specs, _ := parsePlatforms(c.opts.Platforms) // checked by New
		what := "ref name " + shown(j.ref)
		if j.ref == "" {
			what = digest
		}
		w := &walk{src: j.src, repo: j.src.repo, ref: j.ref, platforms: specs, fail: fail, what: what}
		c.walkDigest(ctx, w, j.desc, via{}, 0, fail)
	}
	if j.ref != "" {
		if err := c.sink.PutTag(ctx, j.src.repo, j.ref, digest); err != nil {
			fail("", err)
		}
	}
}

// indexParts indexes an image unless it is indexed already.
func (c *Crawler) indexParts(ctx context.Context, repo index.Repo, ref string, parent via, p *imageParts) error {
	if linked, err := c.sink.LinkImage(ctx, repo, parent.Digest, p.Digest); err != nil || linked {
		if linked {
			c.countImage(repo, p.Digest)
		}
		return err
	}
	return c.indexImage(ctx, repo, ref, parent, p)
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
	src := &localSource{sem: c.localSem, maxManifest: c.opts.Limits.manifestSize(), kind: t.Source, repo: index.Repo{Registry: t.Source, Name: abs}}
	fail := func(err error) {
		c.fail(ctx, index.ScanError{Registry: t.Source, Repository: abs, Reference: t.Tag, Message: err.Error()})
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
		jobs = append(jobs, localJob{src: s, ref: name, desc: d})
	}
	if ref != "" && len(jobs) == 0 {
		return nil, fmt.Errorf("no image named %q in index.json", ref)
	}
	return jobs, nil
}

// dockerJobs lists the images of a docker save tarball's manifest.json.
func (s *localSource) dockerJobs() ([]job, error) {
	raw, err := s.readLimited("manifest.json")
	if err != nil {
		return nil, fmt.Errorf("not a docker archive: %w", err)
	}
	var m tarball.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
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
			jobs = append(jobs, localJob{src: s, ref: tag, docker: d})
		}
	}
	return jobs, nil
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

func (s *localSource) blob(_ context.Context, h v1.Hash) (io.ReadCloser, error) {
	return s.fsys.Open(blobPath(h))
}

// reader: OCI blobs have real digests, which the reader checks (a layer is
// the blob, matched by digest).
func (s *localSource) reader() (bool, *slots, func(error) string) {
	return true, s.sem, plainError
}

// dockerImage makes the parts of one image of a docker save tarball. Its
// layers are tars (rarely compressed) named by path, identified by their
// diff_id, which the reader verifies.
func (s *localSource) dockerImage(d tarball.Descriptor, c *Crawler) (*imageParts, error) {
	if !fs.ValidPath(path.Clean(d.Config)) {
		return nil, fmt.Errorf("manifest.json names config %q, outside the archive", d.Config)
	}
	f, err := s.fsys.Open(path.Clean(d.Config))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfgRaw, err := readCapped(f, c.opts.Limits.configSize())
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", d.Config, err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", d.Config, err)
	}
	if len(cf.RootFS.DiffIDs) != len(d.Layers) {
		return nil, fmt.Errorf("config lists %d diff_ids, manifest.json %d layers", len(cf.RootFS.DiffIDs), len(d.Layers))
	}
	sum := sha256.Sum256(cfgRaw)
	id := "sha256:" + hex.EncodeToString(sum[:])
	files := map[string]string{} // diff_id -> file in the archive
	var layers []layerRef
	for i, f := range d.Layers {
		p := path.Clean(f)
		if !fs.ValidPath(p) {
			return nil, fmt.Errorf("manifest.json names layer %q, outside the archive", f)
		}
		st, err := fs.Stat(s.fsys, p)
		if err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i, f, err)
		}
		diff := cf.RootFS.DiffIDs[i].String()
		files[diff] = p
		layers = append(layers, layerRef{Digest: diff, DiffID: diff, MediaType: string(types.DockerUncompressedLayer), Size: st.Size()})
	}
	return &imageParts{
		// A docker archive has no registry manifest: the image is known by
		// its ID, the digest of its config.
		Digest: id, MediaType: string(types.DockerConfigJSON), Size: int64(len(cfgRaw)),
		ConfigDigest: id, Config: cf, Layers: layers,
		Open: func(_ context.Context, l layerRef) (io.ReadCloser, error) {
			return s.fsys.Open(files[l.Digest])
		},
		ByDiffID: true, CheckDiffID: true, Sem: s.sem, Redact: plainError,
	}, nil
}

func plainError(err error) string { return err.Error() }
