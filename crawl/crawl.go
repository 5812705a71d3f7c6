// Package crawl walks container registries (catalog, repositories, tags,
// indexes, manifests, configs and layer blobs) and hands what it finds to a
// Sink. Layer blobs are streamed and read once; nothing is written to disk and
// nothing in an image is run.
package crawl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/auditor-dev/auditor"
)

// DefaultJobs is how many layers are read at once when Options.Jobs is 0:
// two more than the cores. Reading a layer is decompression and hashing,
// but each reader also waits for the index's single writer (and the
// network); two extra keep the cores busy meanwhile (the big fleet's cold
// scan on 2 cores: 4.0 s with 4 jobs, 5.0 s with 2).
var DefaultJobs = runtime.NumCPU() + 2

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
	// PageSize is how many repositories or tags to ask for per page of the
	// catalog and tag lists; 0 means go-containerregistry's default (1000).
	// Registries may return fewer; pages are followed through Link headers.
	PageSize int
	// Retry says how failed requests and layer reads are retried.
	Retry Retry
	// Scanners read every layer as it streams (see LayerScanner); New
	// tells the sink their versions (SetScanners), so that a layer not read
	// by one of them at its version is read again, for those only.
	Scanners []LayerScanner
	// Log receives progress and error lines; nil discards them.
	Log *slog.Logger
	// OnError is called for every image or layer that failed (the crawl
	// goes on). It must be safe for concurrent use.
	OnError func(auditor.ScanError)
	// Politeness, when set, is shared with the crawlers of other workers
	// (politeness.go): a Retry-After or an open breaker one of them meets
	// holds all of them.
	Politeness Politeness
	// RateShare, when set, says among how many workers each registry's
	// requests_per_second and max_requests are divided (the live workers
	// of a shared scan); each worker keeps at least one request in flight.
	RateShare func() int
	// Plan, when set, makes the crawl a planning crawl (plan.go): no layer
	// is read and no image stored that is not stored already; each is
	// handed to Plan. Registry targets only.
	Plan Planner
}

// Stats are a crawl's counters; read them at any time with Crawler.Stats.
type Stats struct {
	Repositories, RepositoriesDone int64
	Tags, TagsDone                 int64
	Images                         int64 // distinct images (platform manifests of a repository) indexed or linked; alias tags count once
	LayersRead, LayersSkipped      int64
	LayersToRead                   int64 // layers found not indexed (read or failed)
	Files                          int64 // entries of the layers read
	BytesRead                      int64 // compressed layer bytes read so far
	UncompressedBytes              int64
	Errors                         int64
	Artifacts                      int64 // manifests skipped: signatures, attestations, charts (not images)
	// Missing counts the repositories named (as a target, or in a
	// registry's repositories) that the registry does not know or that have
	// no tag: errors, but of a registry that answered.
	Missing int64
	// Answered and Unanswered count the registries that answered a
	// request, and those that were sent requests and never answered one
	// (down, or a wrong host or port).
	Answered, Unanswered int64
	// PlatformMisses counts the indexes none of whose platforms was asked
	// for (Options.Platforms or a registry's), of tags listed (one named
	// tag or digest is an error instead).
	PlatformMisses int64
	// LayersRescanned counts the layers read (in LayersRead) that were
	// indexed already, read again once for the scanners in Rescanners (new,
	// or at a new version) only.
	LayersRescanned int64
	Rescanners      []string
}

// Crawler crawls registries into a Sink. It is safe for one Scan at a time.
type Crawler struct {
	sink    Sink
	opts    Options
	log     *slog.Logger
	layerSF singleflight.Group
	planSF  singleflight.Group // a planning crawl's configs, by image digest
	secrets secrets            // redacted from every message

	mu       sync.Mutex
	pullers  map[string]*registryClient
	localSem *slots                           // layer reads from local sources
	imaged   map[auditor.Repo]map[string]bool // images counted in Stats.Images, by repository and digest
	closers  []io.Closer                      // what the running scan opened (local archives), closed when it returns
	planned  map[string]*imageParts           // a planning crawl's images, by digest
	configs  map[string]*v1.ConfigFile        // a planning crawl's configs, by digest

	stats struct {
		repos, reposDone, tags, tagsDone, images atomic.Int64
		layersRead, layersSkipped, layersToRead  atomic.Int64
		files, bytes, uncompressed, errors       atomic.Int64
		artifacts, missing, platformMisses       atomic.Int64
		layersRescanned                          atomic.Int64
		rescanners                               sync.Map // scanner name -> true
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
	if opts.PageSize < 0 {
		return nil, fmt.Errorf("page size must be positive, got %d", opts.PageSize)
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
	if opts.Limits.MaxManifestSize < 0 || opts.Limits.MaxIndexDepth < 0 || opts.Limits.MaxListPages < 0 || opts.Limits.MaxConfigSize < 0 || opts.Limits.MaxTagManifests < 0 {
		return nil, fmt.Errorf("manifest and list limits must be positive")
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
	var vs []auditor.ScannerVersion
	for _, s := range opts.Scanners {
		if s.Name() == "" || s.Version() == "" {
			return nil, fmt.Errorf("scanner %q: a scanner needs a name and a version", s.Name())
		}
		if slices.ContainsFunc(vs, func(v auditor.ScannerVersion) bool { return v.Name == s.Name() }) {
			return nil, fmt.Errorf("scanner %s: given twice", s.Name())
		}
		vs = append(vs, auditor.ScannerVersion{Name: s.Name(), Version: s.Version()})
	}
	if sink != nil { // nil for a crawler that only opens blobs (cat)
		sink.SetScanners(vs)
	}
	opts.Registries = maps.Clone(opts.Registries) // Scan may add to it
	if opts.Registries == nil {
		opts.Registries = map[string]Registry{}
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Crawler{sink: sink, opts: opts, log: log, pullers: map[string]*registryClient{}, localSem: newSlots(opts.Jobs)}, nil
}

// Stats returns the counters so far.
func (c *Crawler) Stats() Stats {
	s := &c.stats
	var answered, unanswered int64
	c.mu.Lock()
	for _, rc := range c.pullers {
		switch {
		case rc.fetch.answered.Load():
			answered++
		case rc.fetch.tried.Load():
			unanswered++
		}
	}
	c.mu.Unlock()
	st := Stats{
		Answered: answered, Unanswered: unanswered,
		Repositories: s.repos.Load(), RepositoriesDone: s.reposDone.Load(),
		Tags: s.tags.Load(), TagsDone: s.tagsDone.Load(), Images: s.images.Load(),
		LayersRead: s.layersRead.Load(), LayersSkipped: s.layersSkipped.Load(), LayersToRead: s.layersToRead.Load(),
		Files: s.files.Load(), BytesRead: s.bytes.Load(), UncompressedBytes: s.uncompressed.Load(), Errors: s.errors.Load(),
		Artifacts: s.artifacts.Load(), Missing: s.missing.Load(), PlatformMisses: s.platformMisses.Load(),
		LayersRescanned: s.layersRescanned.Load(),
	}
	s.rescanners.Range(func(k, _ any) bool { st.Rescanners = append(st.Rescanners, k.(string)); return true })
	slices.Sort(st.Rescanners)
	return st
}

// countImage counts an image of repo indexed or linked, once however many
// of its tags (or indexes) lead to it.
func (c *Crawler) countImage(repo auditor.Repo, digest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.imaged == nil {
		c.imaged = map[auditor.Repo]map[string]bool{}
	}
	if c.imaged[repo] == nil {
		c.imaged[repo] = map[string]bool{}
	}
	if !c.imaged[repo][digest] {
		c.imaged[repo][digest] = true
		c.stats.images.Add(1)
	}
}

// fail reports a failure the crawl carries on past.
func (c *Crawler) fail(ctx context.Context, e auditor.ScanError) {
	if ctx.Err() != nil {
		return // cancellation is the scan's status, not an image's error
	}
	c.stats.errors.Add(1)
	e.Message = c.secrets.redact(e.Message)
	c.log.Error("scan error", "registry", e.Registry, "repository", e.Repository, "reference", e.Reference, "layer", e.LayerDigest, "error", e.Message)
	if c.opts.OnError != nil {
		c.opts.OnError(e)
	}
}

// imagesInFlight is how many tags are resolved and indexed at once (at
// least; twice the layer jobs if more). An image in flight holds its
// manifest and config, and a goroutine per layer waiting for a read slot.
const imagesInFlight = 64

// Scan crawls every target. Failures of single repositories, images or
// layers are reported through Options.OnError and do not stop the crawl;
// Scan returns an error only when ctx ends or when nothing can be done for a
// target. What was stored before a failure stays stored.
func (c *Crawler) Scan(ctx context.Context, targets []Target) error {
	// What lives as long as the scan (local archives kept open for its
	// jobs) ends with it.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	defer c.closeScanFiles() // after every job: Scan returns with them closed
	c.mu.Lock()
	for _, t := range targets {
		if t.PlainHTTP { // http://host: plain HTTP allowed, as with Insecure
			r := c.opts.Registries[t.Registry]
			r.Insecure = true
			c.opts.Registries[t.Registry] = r
		}
	}
	c.mu.Unlock()
	jobs := make(chan job)
	// Consumers: resolve tags and index their images. Manifest requests are
	// latency-bound, so there are more of these than layer readers; and the
	// more images are in flight, the more layers wait for a read slot, so
	// the biggest of them start first (see slots). Nothing here fails the
	// whole crawl: failures are reported per image.
	var consumers sync.WaitGroup
	for range max(2*c.opts.Jobs, imagesInFlight) {
		consumers.Go(func() {
			for j := range jobs {
				j.run(ctx, c)
				c.stats.tagsDone.Add(1)
			}
		})
	}
	// Producers: list repositories and tags, a few targets at a time.
	var producers errgroup.Group
	producers.SetLimit(4)
	for _, t := range targets {
		if ctx.Err() != nil {
			break
		}
		producers.Go(func() error {
			if t.Source != "" {
				c.enumerateLocal(ctx, t, jobs)
			} else {
				c.enumerate(ctx, t, jobs)
			}
			return nil
		})
	}
	producers.Wait()
	close(jobs)
	consumers.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if n := c.stats.platformMisses.Load(); n > 0 && c.stats.images.Load() == 0 {
		c.fail(ctx, auditor.ScanError{Message: fmt.Sprintf("no image matched the platforms asked for: none of them in %d multi-platform images", n)})
	}
	return nil
}

// closeAtEnd keeps f open until the running Scan returns.
func (c *Crawler) closeAtEnd(f io.Closer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closers = append(c.closers, f)
}

func (c *Crawler) closeScanFiles() {
	c.mu.Lock()
	fs := c.closers
	c.closers = nil
	c.mu.Unlock()
	for _, f := range fs {
		f.Close()
	}
}

// platformMiss reports an index none of whose children is of a platform
// asked for: an error when the target named this one image, else counted
// (Scan fails the scan if nothing at all matched).
func (c *Crawler) platformMiss(ctx context.Context, single bool, digest string, children []auditor.IndexChild, fail func(string, error)) {
	var have []string
	for _, ch := range children {
		have = append(have, ch.Platform.String())
	}
	if single {
		fail("", fmt.Errorf("index %s: none of its platforms was asked for; it has %s", digest, strings.Join(have, ", ")))
		return
	}
	c.stats.platformMisses.Add(1)
	c.log.Info("no platform asked for", "index", digest, "platforms", strings.Join(have, ", "))
}

// job is one tag (or local image reference) to resolve and index.
type job interface {
	run(ctx context.Context, c *Crawler)
}
