package crawl

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor"
)

// DefaultMaxTagManifests bounds the manifests one tag reaches (its index,
// the indexes in it, their images) when Limits.MaxTagManifests is 0. A real
// multi-platform tag reaches a few dozen.
const DefaultMaxTagManifests = 1000

func (l Limits) tagManifests() int {
	if l.MaxTagManifests <= 0 {
		return DefaultMaxTagManifests
	}
	return l.MaxTagManifests
}

// source is where a walk reads manifests: a registry repository, a local
// OCI layout or archive, or a docker archive. It serves each manifest as
// go-containerregistry's v1.ImageIndex or v1.Image; what is done with them
// (which children are walked, the caps, the checks, what is stored) is the
// walker's, the same for every source.
type source interface {
	// manifest returns the raw manifest d names, checked against its
	// digest, and the media type the source declares for it.
	manifest(ctx context.Context, d v1.Descriptor) ([]byte, types.MediaType, error)
	// index and image are the index or image of a manifest that manifest
	// returned, of the media type the walker decided from its content.
	index(ctx context.Context, d v1.Descriptor, raw []byte, mt types.MediaType) (v1.ImageIndex, error)
	image(ctx context.Context, d v1.Descriptor, raw []byte, mt types.MediaType) (v1.Image, error)
	// reader says how the source's layers are read.
	reader() readerOpts
}

// readerOpts say how a source's layers are read (see imageParts).
type readerOpts struct {
	verify, byDiffID, checkDiffID bool
	sem                           *slots
	redact                        func(error) string
}

// walk is the work of one tag (or local reference): every manifest it
// reaches counts against max_manifests_per_tag, and an index is expanded
// once however many times it is listed.
type walk struct {
	src       source
	repo      auditor.Repo
	ref       string // tag, ref name or digest, for the records
	what      string // the tag or reference, as the work bound's error names it
	platforms []v1.Platform
	fail      func(layer string, err error)
	// single: the target named this one tag or digest, so a platform
	// filter that selects none of an index's children is its error.
	single bool

	visits   int
	over     bool
	expanded map[string]bool
}

// visit counts one more manifest, failing the walk once past the bound.
func (c *Crawler) visit(w *walk) bool {
	if w.over {
		return false
	}
	w.visits++
	if limit := c.opts.Limits.tagManifests(); w.visits > limit {
		w.over = true
		w.fail("", fmt.Errorf("%s: %w: reaches more than %d manifests (max_manifests_per_tag)", w.what, ErrManifestLimit, limit))
		return false
	}
	return true
}

// walkDigest indexes what d names in w's repository, reusing what the
// index already holds: an indexed image is linked, not fetched; an indexed
// index is expanded from its stored children; a known artifact is skipped.
func (c *Crawler) walkDigest(ctx context.Context, w *walk, d v1.Descriptor, parent via, depth int, fail func(string, error)) {
	if ctx.Err() != nil || !c.visit(w) {
		return
	}
	digest := d.Digest.String()
	st, err := c.sink.Manifest(ctx, digest)
	if err != nil {
		fail("", err)
		return
	}
	switch {
	case st.Indexed && !st.IsIndex:
		if _, err := c.sink.LinkImage(ctx, w.repo, parent.Digest, digest); err != nil {
			fail("", err)
			return
		}
		c.countImage(w.repo, digest)
		return
	case st.Indexed && st.IsIndex:
		c.expand(ctx, w, digest, st.Children, depth, fail)
		return
	case st.Artifact != "":
		c.stats.artifacts.Add(1) // known not to be an image: not fetched again
		return
	}
	raw, mt, err := w.src.manifest(ctx, d)
	if err != nil {
		fail("", fmt.Errorf("manifest %s: %w", digest, err))
		return
	}
	c.walkManifest(ctx, w, d, raw, mt, parent, depth, fail)
}

// walkManifest indexes a fetched manifest: an index (its children,
// recursively) or an image.
func (c *Crawler) walkManifest(ctx context.Context, w *walk, d v1.Descriptor, raw []byte, declared types.MediaType, parent via, depth int, fail func(string, error)) {
	digest := d.Digest.String()
	mt, kind, err := classifyManifest(declared, raw)
	if err != nil {
		fail("", fmt.Errorf("manifest %s: %w", digest, err))
		return
	}
	if kind == kindIndex {
		idx, err := w.src.index(ctx, d, raw, mt)
		if err != nil {
			fail("", fmt.Errorf("index %s: %w", digest, err))
			return
		}
		im, err := idx.IndexManifest()
		if err != nil {
			fail("", fmt.Errorf("index %s: %w", digest, err))
			return
		}
		rec := indexRecord(digest, mt, int64(len(raw)), im)
		if err := c.sink.PutIndex(ctx, rec); err != nil {
			fail("", err)
			return
		}
		c.expand(ctx, w, digest, rec.Children, depth, fail)
		return
	}
	if c.opts.Plan != nil {
		c.planImage(ctx, w, d, raw, mt, parent, fail)
		return
	}
	img, err := w.src.image(ctx, d, raw, mt)
	if err != nil {
		fail("", fmt.Errorf("image %s: %w", digest, err))
		return
	}
	p, err := c.imageOf(ctx, w.src.reader(), digest, mt, int64(len(raw)), img)
	switch {
	case errors.Is(err, errArtifact):
		c.skipArtifact(ctx, w.repo.Registry, w.repo.Name, w.ref, digest, err)
	case err != nil:
		fail("", err)
	default:
		if err := c.indexImage(ctx, w.repo, w.ref, parent, p); err != nil {
			fail(layerOf(err), err)
		}
	}
}

// expand walks the children of an index that the platforms select, each
// digest once (an index listing one child many times, or reached again
// through another index, costs one visit).
func (c *Crawler) expand(ctx context.Context, w *walk, indexDigest string, children []auditor.IndexChild, depth int, fail func(string, error)) {
	if maxDepth := c.opts.Limits.indexDepth(); depth >= maxDepth {
		fail("", fmt.Errorf("index %s: %w: indexes nested more than %d deep", indexDigest, ErrManifestLimit, maxDepth))
		return
	}
	if w.expanded == nil {
		w.expanded = map[string]bool{}
	}
	if w.expanded[indexDigest] {
		return
	}
	w.expanded[indexDigest] = true
	seen := map[string]bool{}
	matched := false
	for _, ch := range children {
		if !wantPlatform(w.platforms, ch.Platform) {
			continue
		}
		matched = true
		if seen[ch.Digest] {
			continue
		}
		seen[ch.Digest] = true
		if ch.Digest == indexDigest {
			fail("", fmt.Errorf("index %s lists itself", indexDigest))
			continue
		}
		h, err := v1.NewHash(ch.Digest)
		if err != nil {
			fail("", fmt.Errorf("index %s: child %q: %w", indexDigest, ch.Digest, err))
			continue
		}
		childFail := func(layer string, err error) {
			fail(layer, fmt.Errorf("platform %s (%s): %w", ch.Platform, ch.Digest, err))
		}
		d := v1.Descriptor{Digest: h, MediaType: types.MediaType(ch.MediaType)}
		c.walkDigest(ctx, w, d, via{indexDigest, ch.Platform}, depth+1, childFail)
		if w.over || ctx.Err() != nil {
			return
		}
	}
	if !matched && len(children) > 0 {
		c.platformMiss(ctx, w.single, indexDigest, children, fail)
	}
}

// imageOf makes the parts of an image: its manifest, checked to be an
// image's (errArtifact otherwise), its config read under
// max_config_bytes, its layers listed and opened through img.
func (c *Crawler) imageOf(ctx context.Context, ro readerOpts, digest string, mt types.MediaType, size int64, img v1.Image) (*imageParts, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", digest, err)
	}
	if err := notImage(m); err != nil {
		return nil, err
	}
	cf, err := c.readConfig(ctx, m.Config, func(_ context.Context, h v1.Hash) (io.ReadCloser, error) { return openBlob(img, h) })
	if err != nil {
		return nil, fmt.Errorf("image %s: config %s: %w", digest, m.Config.Digest, err)
	}
	layers, err := manifestLayers(m, cf)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", digest, err)
	}
	if mt == "" {
		mt = m.MediaType
	}
	return &imageParts{
		Digest: digest, MediaType: string(mt), Size: size,
		ConfigDigest: m.Config.Digest.String(), Config: cf, Layers: layers,
		Open: func(_ context.Context, l layerRef) (io.ReadCloser, error) {
			h, err := v1.NewHash(l.Digest)
			if err != nil {
				return nil, err
			}
			return openBlob(img, h)
		},
		Verify: ro.verify, ByDiffID: ro.byDiffID, CheckDiffID: ro.checkDiffID, Sem: ro.sem, Redact: ro.redact,
	}, nil
}

// openBlob opens a blob of img (its config or a layer) as it is stored:
// compressed.
func openBlob(img v1.Image, h v1.Hash) (io.ReadCloser, error) {
	l, err := img.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return l.Compressed()
}

// blobLayer is a blob a source opens by digest, as go-containerregistry's
// compressed layer (partial.CompressedToLayer makes the v1.Layer of it).
type blobLayer struct {
	digest v1.Hash
	mt     types.MediaType
	size   int64
	open   func() (io.ReadCloser, error)
}

func (b *blobLayer) Digest() (v1.Hash, error)            { return b.digest, nil }
func (b *blobLayer) Compressed() (io.ReadCloser, error)  { return b.open() }
func (b *blobLayer) Size() (int64, error)                { return b.size, nil }
func (b *blobLayer) MediaType() (types.MediaType, error) { return b.mt, nil }
func layerOfBlob(b *blobLayer) (v1.Layer, error)         { return partial.CompressedToLayer(b) }
