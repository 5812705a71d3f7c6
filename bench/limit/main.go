// Command limit measures what reading a registry's layers costs at the very
// least: it fetches every unique layer blob of every image in a registry,
// decompresses it (gzip or zstd, detected from its first bytes, with the
// decompressors auditor's crawl uses), walks the tar and sha256-hashes every
// regular file's content, on all cores, writing nothing. `auditor scan` does
// that and more (diff_id and blob digests, sniffing, the database), so its
// throughput over the limit's, measured on the same blobs, is how close the
// scan runs to the machine's limit.
//
// With -verify it also checks each blob's sha256 against its digest, as the
// scan must: that run is the floor of any scan that trusts only what it
// verified, so the scan's distance from it is what indexing costs.
//
// Usage: limit [-jobs N] [-verify] HOST[:PORT]
//
// It prints a human summary on stderr and one line of KEY=VALUE figures on
// stdout (LIMIT_LAYERS, LIMIT_COMPRESSED_BYTES, LIMIT_UNCOMPRESSED_BYTES,
// LIMIT_ENTRIES, LIMIT_FILES, LIMIT_SECONDS) for bench/run.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/auditor-dev/auditor/bench/drain"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	jobs := flag.Int("jobs", runtime.NumCPU(), "layer blobs read at once")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file (to compare with auditor scan --cpuprofile)")
	verify := flag.Bool("verify", false, "also check each blob's digest (sha256 of the compressed bytes), as auditor scan does")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: limit [-jobs N] [-verify] HOST[:PORT]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *jobs < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "limit: %v\n", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "limit: %v\n", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if err := run(ctx, flag.Arg(0), *jobs, *verify); err != nil {
		fmt.Fprintf(os.Stderr, "limit: %v\n", err)
		os.Exit(1)
	}
}

// blob is one unique layer blob and a repository that holds it.
type blob struct {
	repo   name.Repository
	digest v1.Hash
}

// totals are what reading the blobs found.
type totals struct {
	compressed, uncompressed, entries, files atomic.Int64
}

func run(ctx context.Context, host string, jobs int, verify bool) error {
	reg, err := name.NewRegistry(host)
	if err != nil {
		return err
	}
	auth := authn.Anonymous
	if u := os.Getenv("FLEET_USER"); u != "" {
		auth = &authn.Basic{Username: u, Password: os.Getenv("FLEET_PASS")}
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}
	start := time.Now()
	blobs, err := listBlobs(ctx, reg, opts)
	if err != nil {
		return err
	}
	listed := time.Since(start)

	var t totals
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	clients := &clientCache{reg: reg, auth: auth, m: map[string]*http.Client{}}
	for _, b := range blobs {
		g.Go(func() error {
			if err := readBlob(gctx, clients, b, verify, &t); err != nil {
				return fmt.Errorf("layer %s in %s: %w", b.digest, b.repo, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	mb := float64(t.uncompressed.Load()) / 1e6
	fmt.Fprintf(os.Stderr, "limit: %d layer blobs (listed in %s), %.1f MB compressed, %.1f MB uncompressed, %d tar entries, %d regular files in %.2fs: %.0f MB/s, %.0f files/s (%d jobs)\n",
		len(blobs), listed.Round(time.Millisecond), float64(t.compressed.Load())/1e6, mb, t.entries.Load(), t.files.Load(), secs, mb/secs, float64(t.entries.Load())/secs, jobs)
	fmt.Printf("LIMIT_LAYERS=%d LIMIT_COMPRESSED_BYTES=%d LIMIT_UNCOMPRESSED_BYTES=%d LIMIT_ENTRIES=%d LIMIT_FILES=%d LIMIT_SECONDS=%.3f\n",
		len(blobs), t.compressed.Load(), t.uncompressed.Load(), t.entries.Load(), t.files.Load(), secs)
	return nil
}

// listBlobs walks catalog -> tags -> manifests (and indexes) and returns each
// layer blob once, largest first so the long ones start early.
func listBlobs(ctx context.Context, reg name.Registry, opts []remote.Option) ([]blob, error) {
	repos, err := remote.Catalog(ctx, reg, opts...)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	seen := map[v1.Hash]bool{}
	var out []blob
	sizes := map[v1.Hash]int64{}
	for _, r := range repos {
		repo := reg.Repo(r)
		tags, err := remote.List(repo, opts...)
		if err != nil {
			return nil, fmt.Errorf("tags of %s: %w", repo, err)
		}
		for _, tag := range tags {
			var descs []v1.Descriptor
			if err := manifestsOf(repo.Tag(tag), opts, &descs, 0); err != nil {
				return nil, err
			}
			for _, d := range descs {
				if !seen[d.Digest] {
					seen[d.Digest] = true
					sizes[d.Digest] = d.Size
					out = append(out, blob{repo: repo, digest: d.Digest})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return sizes[out[i].digest] > sizes[out[j].digest] })
	return out, nil
}

// manifestsOf appends the layer descriptors of ref (of every platform, for an
// index) to out.
func manifestsOf(ref name.Reference, opts []remote.Option, out *[]v1.Descriptor, depth int) error {
	if depth > 4 {
		return fmt.Errorf("%s: indexes nested too deep", ref)
	}
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", ref, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return fmt.Errorf("index %s: %w", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return fmt.Errorf("index %s: %w", ref, err)
		}
		for _, m := range im.Manifests {
			if err := manifestsOf(ref.Context().Digest(m.Digest.String()), opts, out, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return fmt.Errorf("manifest %s: %w", ref, err)
	}
	*out = append(*out, m.Layers...)
	return nil
}

// clientCache holds one authenticated HTTP client per repository.
type clientCache struct {
	reg  name.Registry
	auth authn.Authenticator
	mu   sync.Mutex
	m    map[string]*http.Client
}

func (c *clientCache) get(ctx context.Context, repo name.Repository) (*http.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.m[repo.String()]; ok {
		return cl, nil
	}
	rt, err := transport.NewWithContext(ctx, c.reg, c.auth, remote.DefaultTransport, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, err
	}
	cl := &http.Client{Transport: rt}
	c.m[repo.String()] = cl
	return cl, nil
}

// readBlob GETs a blob and drains it (bench/drain). Without verify the raw
// bytes are not checked against the digest: the limit does only what cannot
// be skipped.
func readBlob(ctx context.Context, clients *clientCache, b blob, verify bool, t *totals) error {
	cl, err := clients.get(ctx, b.repo)
	if err != nil {
		return err
	}
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", b.repo.Scheme(), b.repo.RegistryStr(), b.repo.RepositoryStr(), b.digest)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET blob: %s", resp.Status)
	}
	var body io.Reader = resp.Body
	h := sha256.New()
	if verify {
		body = io.TeeReader(body, h)
	}
	cr := &drain.Counter{R: body}
	c, err := drain.Blob(cr, make([]byte, 256<<10))
	if err != nil {
		return err
	}
	if verify {
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != b.digest.String() {
			return fmt.Errorf("blob hashes to %s", got)
		}
	}
	t.compressed.Add(cr.N)
	t.uncompressed.Add(c.Uncompressed)
	t.entries.Add(c.Entries)
	t.files.Add(c.Files)
	return nil
}
