package crawl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor"
)

// tagJob is one tag (or digest) of one repository to index.
type tagJob struct {
	rc   *registryClient
	repo name.Repository
	tag  string // "" when digest is set
	dig  string
	// single: the target named this one tag or digest, so a platform filter
	// that leaves none of its platforms is an error.
	single bool
}

func (j tagJob) reference() string {
	if j.dig != "" {
		return j.dig
	}
	return j.tag
}

func (j tagJob) rec() auditor.Repo {
	return auditor.Repo{Registry: j.repo.RegistryStr(), Name: j.repo.RepositoryStr()}
}

func (j tagJob) run(ctx context.Context, c *Crawler) { c.scanTag(ctx, j) }

// enumerate sends a tag job for every tag the target covers.
func (c *Crawler) enumerate(ctx context.Context, t Target, out chan<- job) {
	rc, err := c.client(t.Registry)
	if err != nil {
		c.fail(ctx, auditor.ScanError{Registry: t.Registry, Message: err.Error()})
		return
	}
	send := func(j job) bool {
		c.stats.tags.Add(1)
		select {
		case out <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if t.Repository != "" {
		repo, err := rc.repository(t.Repository)
		if err != nil {
			c.fail(ctx, auditor.ScanError{Registry: t.Registry, Repository: shown(t.Repository), Message: err.Error()})
			return
		}
		c.stats.repos.Add(1)
		defer c.stats.reposDone.Add(1)
		switch {
		case t.Digest != "":
			send(tagJob{rc: rc, repo: repo, dig: t.Digest, single: true})
		case t.Tag != "":
			send(tagJob{rc: rc, repo: repo, tag: t.Tag, single: true})
		default:
			c.listTags(ctx, rc, repo, send, true)
		}
		return
	}
	repos, catalog, err := rc.repositories(ctx)
	if err != nil {
		c.fail(ctx, auditor.ScanError{Registry: t.Registry, Message: err.Error()})
		return
	}
	if catalog != nil {
		c.probeGone(ctx, rc, catalog)
	}
	c.stats.repos.Add(int64(len(repos)))
	for _, r := range repos {
		if ctx.Err() != nil {
			return
		}
		repo, err := rc.repository(r)
		if err != nil {
			c.fail(ctx, auditor.ScanError{Registry: t.Registry, Repository: shown(r), Message: err.Error()})
		} else {
			c.listTags(ctx, rc, repo, send, catalog == nil) // the configured repositories are named
		}
		c.stats.reposDone.Add(1)
	}
}

// listTags sends a job for each tag of repo. A repository that was named
// (not found in the catalog) and does not exist or has no tag is an error:
// a typo must not scan "ok" night after night.
func (c *Crawler) listTags(ctx context.Context, rc *registryClient, repo name.Repository, send func(job) bool, named bool) {
	rec := auditor.Repo{Registry: repo.RegistryStr(), Name: repo.RepositoryStr()}
	listed, err := rc.tags(ctx, repo, func(tag string) bool {
		if err := checkTag(tag); err != nil {
			c.fail(ctx, auditor.ScanError{Registry: rec.Registry, Repository: rec.Name, Reference: shown(tag), Message: err.Error()})
			return true
		}
		return send(tagJob{rc: rc, repo: repo, tag: tag})
	})
	switch {
	case errors.Is(err, errNoRepository) && named:
		c.stats.missing.Add(1)
		c.fail(ctx, auditor.ScanError{Registry: rec.Registry, Repository: rec.Name, Message: fmt.Sprintf("repository %s not found", repo)})
		err = nil // its tags, if the index had any, are gone
	case errors.Is(err, errNoRepository):
		err = nil // gone from the registry since the catalog was read: its tags are gone
	case err == nil && named && len(listed) == 0:
		c.stats.missing.Add(1)
		c.fail(ctx, auditor.ScanError{Registry: rec.Registry, Repository: rec.Name, Message: fmt.Sprintf("repository %s has no tags", repo)})
	}
	if err != nil {
		c.fail(ctx, auditor.ScanError{Registry: rec.Registry, Repository: rec.Name, Message: err.Error()})
		return
	}
	if listed == nil {
		return // stopped
	}
	// The whole list was read: the repository's other tags are gone.
	if err := c.sink.TagsListed(ctx, rec, listed); err != nil {
		c.fail(ctx, auditor.ScanError{Registry: rec.Registry, Repository: rec.Name, Message: err.Error()})
	}
}

// probeGone lists the tags of the repositories the index has current tags
// of and the catalog did not list. A repository the registry no longer
// knows (404), or left with no tag, has its tags gone; one the catalog only
// hid (a catalog filtered by permissions, a hiccup) keeps them. An empty or
// partial catalog thus costs requests, never the index's tags.
func (c *Crawler) probeGone(ctx context.Context, rc *registryClient, catalog []string) {
	known, err := c.sink.CurrentRepositories(ctx, rc.registryName())
	if err != nil {
		c.fail(ctx, auditor.ScanError{Registry: rc.host, Message: err.Error()})
		return
	}
	listed := make(map[string]bool, len(catalog))
	for _, r := range catalog {
		listed[r] = true
	}
	for _, r := range known {
		if listed[r] || ctx.Err() != nil {
			continue
		}
		repo, err := rc.repository(r)
		if err != nil {
			continue
		}
		tags, err := rc.tags(ctx, repo, nil)
		if errors.Is(err, errNoRepository) {
			err = nil // all its tags are gone
		}
		if err != nil || tags == nil {
			c.log.Info("repository not in the catalog, and its tags could not be listed: its tags stay current", "registry", rc.host, "repository", r, "error", err)
			continue
		}
		if err := c.sink.TagsListed(ctx, auditor.Repo{Registry: repo.RegistryStr(), Name: repo.RepositoryStr()}, tags); err != nil {
			c.fail(ctx, auditor.ScanError{Registry: rc.host, Repository: r, Message: err.Error()})
		}
	}
}

// scanTag resolves one tag to its manifest and indexes what it points at.
func (c *Crawler) scanTag(ctx context.Context, j tagJob) {
	if ctx.Err() != nil {
		return
	}
	repoRec := j.rec()
	fail := func(layer string, err error) {
		c.fail(ctx, auditor.ScanError{Registry: repoRec.Registry, Repository: repoRec.Name, Reference: j.reference(), LayerDigest: layer, Message: j.rc.redact(err)})
	}
	src := &repoSource{rc: j.rc, repo: j.repo}
	w := &walk{src: src, repo: repoRec, ref: j.reference(), platforms: j.rc.platforms, fail: fail, what: "tag " + j.tag, single: j.single}
	var root v1.Descriptor
	if j.dig != "" {
		h, err := v1.NewHash(j.dig)
		if err != nil {
			fail("", err)
			return
		}
		root, w.what = v1.Descriptor{Digest: h}, j.dig
	} else {
		// One HEAD per tag: enough when the manifest is already indexed.
		d, err := j.rc.puller.Head(ctx, j.repo.Tag(j.tag))
		if err != nil {
			rd, err2 := j.rc.puller.Get(ctx, j.repo.Tag(j.tag))
			if err2 != nil {
				fail("", resolveError(j, err2))
				return
			}
			src.pre, d = rd, &rd.Descriptor
		}
		if err := c.sink.PutTag(ctx, repoRec, j.tag, d.Digest.String()); err != nil {
			fail("", err)
			return
		}
		root = v1.Descriptor{Digest: d.Digest, MediaType: d.MediaType}
	}
	c.walkDigest(ctx, w, root, via{}, 0, fail)
}

// repoSource is a registry repository as the source of a walk: its
// manifests as go-containerregistry's remote images and indexes.
type repoSource struct {
	rc   *registryClient
	repo name.Repository
	pre  *remote.Descriptor // the tag's manifest, when resolving it fetched it
	got  map[v1.Hash]*remote.Descriptor
}

var _ source = (*repoSource)(nil)

func (s *repoSource) manifest(ctx context.Context, d v1.Descriptor) ([]byte, types.MediaType, error) {
	rd := s.pre
	if rd == nil || rd.Digest != d.Digest {
		var err error
		if rd, err = s.rc.puller.Get(ctx, s.repo.Digest(d.Digest.String())); err != nil { // go-containerregistry checks the digest
			return nil, "", err
		}
	}
	if s.got == nil {
		s.got = map[v1.Hash]*remote.Descriptor{}
	}
	s.got[d.Digest] = rd
	return rd.Manifest, rd.MediaType, nil
}

// fetched is the descriptor manifest fetched for d, with the media type
// the walker decided (go-containerregistry goes by the declared one: an
// image declared an index would be resolved to one of its platforms).
func (s *repoSource) fetched(d v1.Descriptor, mt types.MediaType) (*remote.Descriptor, error) {
	rd := s.got[d.Digest]
	if rd == nil {
		return nil, fmt.Errorf("manifest %s not fetched", d.Digest)
	}
	delete(s.got, d.Digest)
	cp := *rd
	cp.MediaType = mt
	return &cp, nil
}

func (s *repoSource) index(_ context.Context, d v1.Descriptor, _ []byte, mt types.MediaType) (v1.ImageIndex, error) {
	rd, err := s.fetched(d, mt)
	if err != nil {
		return nil, err
	}
	return rd.ImageIndex()
}

func (s *repoSource) image(ctx context.Context, d v1.Descriptor, _ []byte, mt types.MediaType) (v1.Image, error) {
	rd, err := s.fetched(d, mt)
	if err != nil {
		return nil, err
	}
	img, err := rd.Image()
	if err != nil {
		return nil, err
	}
	return &registryImage{Image: img, ctx: ctx, s: s}, nil
}

func (s *repoSource) reader() readerOpts {
	return readerOpts{sem: s.rc.layerSem, redact: s.rc.redact}
}

// registryImage is a remote image whose blobs are fetched as remote.Layer
// fetches them: their size from the registry's HEAD, not the manifest's
// (the walker compares the two), the digest verified as they stream.
type registryImage struct {
	v1.Image
	ctx context.Context
	s   *repoSource
}

func (i *registryImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	return layerOfBlob(&blobLayer{digest: h, size: -1, open: func() (io.ReadCloser, error) {
		return i.s.rc.openBlob(i.ctx, i.s.repo, h.String())
	}})
}

// openBlob fetches a blob of repo, compressed, as remote.Layer fetches it
// (the digest verified as it streams).
func (rc *registryClient) openBlob(ctx context.Context, repo name.Repository, digest string) (io.ReadCloser, error) {
	rl, err := rc.puller.Layer(ctx, repo.Digest(digest))
	if err != nil {
		return nil, err
	}
	r, err := rl.Compressed()
	if err != nil {
		return nil, err
	}
	return verdictReader{r}, nil
}

// resolveError says why a tag could not be resolved: for a 404, which of
// the tag and the repository the registry does not know.
func resolveError(j tagJob, err error) error {
	if !notFound(err) {
		return fmt.Errorf("resolving tag: %w", err)
	}
	if registryCode(err) == transport.NameUnknownErrorCode {
		return fmt.Errorf("repository %s not found", j.repo)
	}
	return fmt.Errorf("tag %s not found in %s", j.tag, j.repo)
}

// via says how a manifest was reached: through which index (Digest "" for
// none) and the platform that index gives it.
type via struct {
	Digest   string
	Platform auditor.Platform
}

func wantPlatform(specs []v1.Platform, p auditor.Platform) bool {
	if len(specs) == 0 {
		return true
	}
	have := v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
	for _, s := range specs {
		if have.Satisfies(s) {
			return true
		}
	}
	return false
}

func platformOf(p *v1.Platform) auditor.Platform {
	if p == nil {
		return auditor.Platform{}
	}
	return auditor.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion}
}

// errUnsupported names manifests the crawler cannot index.
var errUnsupported = errors.New("unsupported manifest")

type manifestClass int

const (
	kindImage manifestClass = iota
	kindIndex
)

// manifestKind classifies a manifest by media type, or by its fields when it
// has none (legal in OCI).
func manifestKind(mt interface{ IsIndex() bool }, raw []byte) (manifestClass, error) {
	s := fmt.Sprint(mt)
	switch {
	case strings.Contains(s, "manifest.v1+prettyjws"), s == "application/vnd.docker.distribution.manifest.v1+json":
		return 0, fmt.Errorf("%w: legacy Docker schema 1 manifest (%s); push it again with a current client to convert it", errUnsupported, s)
	case mt.IsIndex():
		return kindIndex, nil
	case s == "application/vnd.oci.image.manifest.v1+json", s == "application/vnd.docker.distribution.manifest.v2+json":
		return kindImage, nil
	}
	var probe struct {
		SchemaVersion int               `json:"schemaVersion"`
		Manifests     []json.RawMessage `json:"manifests"`
		Config        *json.RawMessage  `json:"config"`
		Layers        []json.RawMessage `json:"layers"`
		FSLayers      []json.RawMessage `json:"fsLayers"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return 0, fmt.Errorf("%w: media type %q and not JSON: %v", errUnsupported, s, err)
	}
	switch {
	case probe.FSLayers != nil:
		return 0, fmt.Errorf("%w: legacy Docker schema 1 manifest; push it again with a current client to convert it", errUnsupported)
	case probe.SchemaVersion == 2 && probe.Manifests != nil:
		return kindIndex, nil
	case probe.SchemaVersion == 2 && probe.Config != nil:
		return kindImage, nil
	}
	return 0, fmt.Errorf("%w: media type %q", errUnsupported, s)
}

// indexRecord maps a parsed index (manifest list) to what the index stores.
func indexRecord(digest string, mt types.MediaType, size int64, im *v1.IndexManifest) *auditor.ImageIndex {
	rec := &auditor.ImageIndex{Digest: digest, MediaType: string(mt), Size: size}
	if rec.MediaType == "" {
		rec.MediaType = string(im.MediaType)
	}
	for _, m := range im.Manifests {
		if attestationChild(m) {
			continue // provenance and SBOMs, not a platform's filesystem
		}
		rec.Children = append(rec.Children, auditor.IndexChild{Digest: m.Digest.String(), MediaType: string(m.MediaType), Platform: platformOf(m.Platform)})
	}
	return rec
}
