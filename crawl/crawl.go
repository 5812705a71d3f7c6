// Package crawl walks container registries (catalog, repositories, tags,
// indexes, manifests, configs and layer blobs) and hands what it finds to a
// Sink. Layer blobs are streamed and read once; nothing is written to disk and
// nothing in an image is run.
package crawl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/auditor-dev/auditor/index"
)

// Sink is where the crawler stores what it finds. *index.DB implements it.
type Sink interface {
	// HasLayer reports whether a layer blob is already fully indexed.
	HasLayer(ctx context.Context, digest string) (bool, error)
	// PutLayer stores a layer and its entries atomically.
	PutLayer(ctx context.Context, l *index.Layer) error
	// Manifest reports what is stored of a manifest digest.
	Manifest(ctx context.Context, digest string) (index.ManifestState, error)
	// PutIndex stores an image index and its children list.
	PutIndex(ctx context.Context, idx *index.ImageIndex) error
	// PutImage stores an image whose layers are all stored, and links it to repo.
	PutImage(ctx context.Context, repo index.Repo, indexDigest string, img *index.Image) error
	// LinkImage links an already stored image to repo; false if it is not stored.
	LinkImage(ctx context.Context, repo index.Repo, indexDigest, digest string) (bool, error)
	// PutTag records a tag -> digest mapping seen now.
	PutTag(ctx context.Context, repo index.Repo, tag, digest string) error
}

// DefaultJobs is how many layers are read at once when Options.Jobs is 0:
// one per core, since reading a layer is decompression and hashing.
var DefaultJobs = max(2, runtime.NumCPU())

// Registry holds the settings of one registry host.
type Registry struct {
	// Insecure allows plain HTTP (and TLS without verification is never
	// allowed). Loopback registries may use plain HTTP without it.
	Insecure bool
	// CAFile is a PEM file of CAs to trust for this registry, on top of the
	// system roots.
	CAFile string
	// Repositories lists the repositories to scan instead of asking the
	// catalog API (for registries without one).
	Repositories []string
	// Include and Exclude are repository globs (path.Match syntax, plus "**"
	// for any number of path segments); Exclude wins.
	Include, Exclude []string
	// Platforms restricts index children, e.g. "linux/amd64"; empty means
	// all. Overrides Options.Platforms.
	Platforms []string
	// Jobs overrides Options.Jobs for this registry's layer reads.
	Jobs int
	// Auth resolves credentials for this registry; nil means the crawler's
	// keychain.
	Auth authn.Authenticator
	// MaxRequests bounds the requests in flight to this registry (a blob
	// counts until its body is read); 0 means no bound.
	MaxRequests int
	// RequestsPerSecond bounds the rate of requests to this registry; 0
	// means no bound.
	RequestsPerSecond float64
}

// Options configure a Crawler.
type Options struct {
	// Jobs is how many layers are read at once; 0 means DefaultJobs.
	Jobs int
	// Platforms restricts index children to these (e.g. "linux/arm64/v8");
	// empty means every platform.
	Platforms []string
	// Registries holds per-host settings, keyed by host[:port].
	Registries map[string]Registry
	// Keychain resolves credentials where a Registry has no Auth; nil means
	// the Docker config keychain (~/.docker/config.json and helpers).
	Keychain authn.Keychain
	// Transport is the HTTP transport under auth and retries; nil means
	// remote.DefaultTransport (with a Registry's CAFile applied).
	Transport http.RoundTripper
	// Limits bound each layer and manifest.
	Limits Limits
	// Retry says how failed requests and layer reads are retried.
	Retry Retry
	// Log receives progress and error lines; nil discards them.
	Log *slog.Logger
	// OnError is called for every image or layer that failed (the crawl
	// goes on). It must be safe for concurrent use.
	OnError func(index.ScanError)
}

// Stats are a crawl's counters; read them at any time with Crawler.Stats.
type Stats struct {
	Repositories, RepositoriesDone int64
	Tags, TagsDone                 int64
	Images                         int64 // platform manifests indexed or linked
	LayersRead, LayersSkipped      int64
	LayersToRead                   int64 // layers found not indexed (read or failed)
	Files                          int64 // entries of the layers read
	BytesRead                      int64 // compressed layer bytes read so far
	UncompressedBytes              int64
	Errors                         int64
}

// Crawler crawls registries into a Sink. It is safe for one Scan at a time.
type Crawler struct {
	sink    Sink
	opts    Options
	log     *slog.Logger
	layerSF singleflight.Group

	mu      sync.Mutex
	pullers map[string]*registryClient

	stats struct {
		repos, reposDone, tags, tagsDone, images atomic.Int64
		layersRead, layersSkipped, layersToRead  atomic.Int64
		files, bytes, uncompressed, errors       atomic.Int64
	}
}

// New returns a Crawler writing to sink.
func New(sink Sink, opts Options) (*Crawler, error) {
	if opts.Jobs < 0 {
		return nil, fmt.Errorf("jobs must be positive, got %d", opts.Jobs)
	}
	if opts.Jobs == 0 {
		opts.Jobs = DefaultJobs
	}
	for _, p := range opts.Platforms {
		if _, err := v1.ParsePlatform(p); err != nil {
			return nil, fmt.Errorf("platform %q: %w", p, err)
		}
	}
	if err := opts.Retry.validate(); err != nil {
		return nil, err
	}
	opts.Retry = opts.Retry.withDefaults()
	if opts.Limits.MaxManifestSize < 0 || opts.Limits.MaxIndexDepth < 0 {
		return nil, fmt.Errorf("manifest limits must be positive")
	}
	for host, r := range opts.Registries {
		if r.Jobs < 0 {
			return nil, fmt.Errorf("registry %s: jobs must be positive, got %d", host, r.Jobs)
		}
		if r.MaxRequests < 0 || r.RequestsPerSecond < 0 {
			return nil, fmt.Errorf("registry %s: max_requests and requests_per_second must be positive", host)
		}
		for _, p := range r.Platforms {
			if _, err := v1.ParsePlatform(p); err != nil {
				return nil, fmt.Errorf("registry %s: platform %q: %w", host, p, err)
			}
		}
		for _, g := range append(append([]string{}, r.Include...), r.Exclude...) {
			if err := checkGlob(g); err != nil {
				return nil, fmt.Errorf("registry %s: %w", host, err)
			}
		}
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Crawler{sink: sink, opts: opts, log: log, pullers: map[string]*registryClient{}}, nil
}

// Stats returns the counters so far.
func (c *Crawler) Stats() Stats {
	s := &c.stats
	return Stats{
		Repositories: s.repos.Load(), RepositoriesDone: s.reposDone.Load(),
		Tags: s.tags.Load(), TagsDone: s.tagsDone.Load(), Images: s.images.Load(),
		LayersRead: s.layersRead.Load(), LayersSkipped: s.layersSkipped.Load(), LayersToRead: s.layersToRead.Load(),
		Files: s.files.Load(), BytesRead: s.bytes.Load(), UncompressedBytes: s.uncompressed.Load(), Errors: s.errors.Load(),
	}
}

// fail reports a failure the crawl carries on past.
func (c *Crawler) fail(ctx context.Context, e index.ScanError) {
	if ctx.Err() != nil {
		return // cancellation is the scan's status, not an image's error
	}
	c.stats.errors.Add(1)
	c.log.Error("scan error", "registry", e.Registry, "repository", e.Repository, "reference", e.Reference, "layer", e.LayerDigest, "error", e.Message)
	if c.opts.OnError != nil {
		c.opts.OnError(e)
	}
}

// Scan crawls every target. Failures of single repositories, images or
// layers are reported through Options.OnError and do not stop the crawl;
// Scan returns an error only when ctx ends or when nothing can be done for a
// target. What was stored before a failure stays stored.
func (c *Crawler) Scan(ctx context.Context, targets []Target) error {
	g, gctx := errgroup.WithContext(ctx)
	tagJobs := make(chan tagJob)
	// Producers: list repositories and tags.
	var producers errgroup.Group
	producers.SetLimit(4)
	for _, t := range targets {
		producers.Go(func() error {
			c.enumerate(gctx, t, tagJobs)
			return nil
		})
	}
	go func() {
		producers.Wait()
		close(tagJobs)
	}()
	// Consumers: resolve tags and index their images. Manifest requests are
	// latency-bound, so there are more of these than layer readers.
	for range 2 * c.opts.Jobs {
		g.Go(func() error {
			for j := range tagJobs {
				c.scanTag(gctx, j)
				c.stats.tagsDone.Add(1)
			}
			return nil
		})
	}
	err := g.Wait()
	for range tagJobs { // drain if consumers stopped early
	}
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return err
}

// tagJob is one tag (or digest) of one repository to index.
type tagJob struct {
	rc   *registryClient
	repo name.Repository
	tag  string // "" when digest is set
	dig  string
}

func (j tagJob) reference() string {
	if j.dig != "" {
		return j.dig
	}
	return j.tag
}

func (j tagJob) rec() index.Repo {
	return index.Repo{Registry: j.repo.RegistryStr(), Name: j.repo.RepositoryStr()}
}

// enumerate sends a tag job for every tag the target covers.
func (c *Crawler) enumerate(ctx context.Context, t Target, out chan<- tagJob) {
	rc, err := c.client(t.Registry)
	if err != nil {
		c.fail(ctx, index.ScanError{Registry: t.Registry, Message: err.Error()})
		return
	}
	send := func(j tagJob) bool {
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
			c.fail(ctx, index.ScanError{Registry: t.Registry, Repository: t.Repository, Message: err.Error()})
			return
		}
		c.stats.repos.Add(1)
		defer c.stats.reposDone.Add(1)
		switch {
		case t.Digest != "":
			send(tagJob{rc: rc, repo: repo, dig: t.Digest})
		case t.Tag != "":
			send(tagJob{rc: rc, repo: repo, tag: t.Tag})
		default:
			c.listTags(ctx, rc, repo, send)
		}
		return
	}
	repos, err := rc.repositories(ctx)
	if err != nil {
		c.fail(ctx, index.ScanError{Registry: t.Registry, Message: err.Error()})
		return
	}
	c.stats.repos.Add(int64(len(repos)))
	for _, r := range repos {
		if ctx.Err() != nil {
			return
		}
		repo, err := rc.repository(r)
		if err != nil {
			c.fail(ctx, index.ScanError{Registry: t.Registry, Repository: r, Message: err.Error()})
		} else {
			c.listTags(ctx, rc, repo, send)
		}
		c.stats.reposDone.Add(1)
	}
}

func (c *Crawler) listTags(ctx context.Context, rc *registryClient, repo name.Repository, send func(tagJob) bool) {
	lister, err := rc.puller.Lister(ctx, repo)
	if err != nil {
		c.fail(ctx, index.ScanError{Registry: repo.RegistryStr(), Repository: repo.RepositoryStr(), Message: "listing tags: " + rc.redact(err)})
		return
	}
	for lister.HasNext() {
		page, err := lister.Next(ctx)
		if err != nil {
			c.fail(ctx, index.ScanError{Registry: repo.RegistryStr(), Repository: repo.RepositoryStr(), Message: "listing tags: " + rc.redact(err)})
			return
		}
		for _, tag := range page.Tags {
			if !send(tagJob{rc: rc, repo: repo, tag: tag}) {
				return
			}
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
		c.fail(ctx, index.ScanError{Registry: repoRec.Registry, Repository: repoRec.Name, Reference: j.reference(), LayerDigest: layer, Message: j.rc.redact(err)})
	}
	digest := j.dig
	if digest == "" {
		// One HEAD per tag: enough when the manifest is already indexed.
		d, err := j.rc.puller.Head(ctx, j.repo.Tag(j.tag))
		if err != nil {
			var rd *remote.Descriptor
			rd, err2 := j.rc.puller.Get(ctx, j.repo.Tag(j.tag))
			if err2 != nil {
				fail("", fmt.Errorf("resolving tag: %w", err2))
				return
			}
			digest = rd.Digest.String()
			if err := c.sink.PutTag(ctx, repoRec, j.tag, digest); err != nil {
				fail("", err)
				return
			}
			c.indexDescriptor(ctx, j, rd, "", 0, fail)
			return
		}
		digest = d.Digest.String()
		if err := c.sink.PutTag(ctx, repoRec, j.tag, digest); err != nil {
			fail("", err)
			return
		}
	}
	c.indexDigest(ctx, j, digest, "", 0, fail)
}

// indexDigest indexes the manifest digest in j's repository, reusing what
// the index already holds: an indexed manifest is not fetched again.
func (c *Crawler) indexDigest(ctx context.Context, j tagJob, digest, parent string, depth int, fail func(string, error)) {
	st, err := c.sink.Manifest(ctx, digest)
	if err != nil {
		fail("", err)
		return
	}
	repoRec := j.rec()
	switch {
	case st.Indexed && !st.IsIndex:
		if _, err := c.sink.LinkImage(ctx, repoRec, parent, digest); err != nil {
			fail("", err)
			return
		}
		c.stats.images.Add(1)
		return
	case st.Indexed && st.IsIndex:
		c.indexChildren(ctx, j, digest, st.Children, depth, fail)
		return
	}
	ref, err := name.NewDigest(j.repo.String()+"@"+digest, j.rc.nameOpts...)
	if err != nil {
		fail("", err)
		return
	}
	rd, err := j.rc.puller.Get(ctx, ref)
	if err != nil {
		fail("", fmt.Errorf("manifest %s: %w", digest, err))
		return
	}
	c.indexDescriptor(ctx, j, rd, parent, depth, fail)
}

func (c *Crawler) indexChildren(ctx context.Context, j tagJob, indexDigest string, children []index.IndexChild, depth int, fail func(string, error)) {
	if maxDepth := c.opts.Limits.indexDepth(); depth >= maxDepth {
		fail("", fmt.Errorf("index %s: %w: indexes nested more than %d deep", indexDigest, ErrManifestLimit, maxDepth))
		return
	}
	platforms := j.rc.platforms
	for _, ch := range children {
		if !wantPlatform(platforms, ch.Platform) {
			continue
		}
		if ch.Digest == indexDigest {
			fail("", fmt.Errorf("index %s lists itself", indexDigest))
			continue
		}
		childFail := func(layer string, err error) {
			fail(layer, fmt.Errorf("platform %s (%s): %w", ch.Platform, ch.Digest, err))
		}
		c.indexDigest(ctx, j, ch.Digest, indexDigest, depth+1, childFail)
	}
}

func wantPlatform(specs []v1.Platform, p index.Platform) bool {
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

func platformOf(p *v1.Platform) index.Platform {
	if p == nil {
		return index.Platform{}
	}
	return index.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion}
}

// errUnsupported names manifests the crawler cannot index.
var errUnsupported = errors.New("unsupported manifest")

func (c *Crawler) indexDescriptor(ctx context.Context, j tagJob, rd *remote.Descriptor, parent string, depth int, fail func(string, error)) {
	kind, err := classifyManifest(rd)
	if err != nil {
		fail("", fmt.Errorf("manifest %s: %w", rd.Digest, err))
		return
	}
	switch kind {
	case kindIndex:
		ii, err := rd.ImageIndex()
		if err != nil {
			fail("", fmt.Errorf("index %s: %w", rd.Digest, err))
			return
		}
		im, err := ii.IndexManifest()
		if err != nil {
			fail("", fmt.Errorf("index %s: %w", rd.Digest, err))
			return
		}
		rec := &index.ImageIndex{Digest: rd.Digest.String(), MediaType: string(rd.MediaType), Size: rd.Size}
		if rec.MediaType == "" {
			rec.MediaType = string(im.MediaType)
		}
		for _, m := range im.Manifests {
			rec.Children = append(rec.Children, index.IndexChild{Digest: m.Digest.String(), MediaType: string(m.MediaType), Platform: platformOf(m.Platform)})
		}
		if err := c.sink.PutIndex(ctx, rec); err != nil {
			fail("", err)
			return
		}
		c.indexChildren(ctx, j, rec.Digest, rec.Children, depth, fail)
	case kindImage:
		if err := c.indexImage(ctx, j, rd, parent); err != nil {
			var le *layerError
			if errors.As(err, &le) {
				fail(le.digest, err)
			} else {
				fail("", err)
			}
		}
	}
}

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
