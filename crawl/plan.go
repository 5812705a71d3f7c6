package crawl

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor"
)

// A planning crawl (Options.Plan set) is the planner of a scan that several
// workers share: it lists repositories and tags, fetches manifests and
// configs, and records tags, indexes and artifacts as any crawl does, but
// it reads no layer and stores no image that is not stored already: it
// hands each image to the Planner instead, with the layers to read first.
// The workers read those layers (Crawler.ReadLayer) and then store the
// image (ManifestStore.PutImage).

// Planner takes the images a planning crawl finds. It must be safe for
// concurrent use.
type Planner interface {
	// PlanImage is given an image to store once the layers p.Layers are
	// read (they were not indexed when it was planned).
	PlanImage(ctx context.Context, p ImagePlan) error
}

// ImagePlan is an image to store, as PutImage(ctx, Repo, IndexDigest,
// Image) stores it, once Layers are read.
type ImagePlan struct {
	Repo        auditor.Repo
	Ref         string // the tag or digest that reached it, for errors
	IndexDigest string // "" when a tag names the image itself
	Image       *auditor.Image
	Layers      []LayerWork // its layers not indexed when it was planned
}

// LayerWork is a layer blob of a registry repository to read.
type LayerWork struct {
	Registry, Repository string
	Digest, DiffID       string
	MediaType            string
	Size                 int64 // of the blob, as the manifest says; 0 if unknown
}

// planImage plans the image a manifest names: its config is read once per
// crawl (however many tags and repositories lead to it: the parts are kept
// by digest), its layers are looked up, and the Planner is given it.
func (c *Crawler) planImage(ctx context.Context, w *walk, d v1.Descriptor, raw []byte, mt types.MediaType, parent via, fail func(string, error)) {
	digest := d.Digest.String()
	v, err, _ := c.planSF.Do(digest, func() (any, error) {
		c.mu.Lock()
		p := c.planned[digest]
		c.mu.Unlock()
		if p != nil {
			return p, nil
		}
		img, err := w.src.image(ctx, d, raw, mt)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", digest, err)
		}
		p, err = c.imageOf(ctx, w.src.reader(), digest, mt, int64(len(raw)), img)
		if err != nil {
			return nil, err
		}
		p.Open = nil // not read here: nothing of the image is kept open
		c.mu.Lock()
		if c.planned == nil {
			c.planned = map[string]*imageParts{}
		}
		c.planned[digest] = p
		c.mu.Unlock()
		return p, nil
	})
	switch {
	case errors.Is(err, errArtifact):
		c.skipArtifact(ctx, w.repo.Registry, w.repo.Name, w.ref, digest, err)
		return
	case err != nil:
		fail("", err)
		return
	}
	p := v.(*imageParts)
	rec := imageRecordVia(p, parent)
	plan := ImagePlan{Repo: w.repo, Ref: w.ref, IndexDigest: parent.Digest, Image: rec}
	for _, l := range p.Layers {
		done, err := c.sink.HasLayer(ctx, l.Digest)
		if err != nil {
			fail(l.Digest, &layerError{l.Digest, err})
			return
		}
		rec.Layers = append(rec.Layers, l.Digest)
		rec.LayerMediaTypes = append(rec.LayerMediaTypes, l.MediaType)
		if done {
			c.stats.layersSkipped.Add(1)
			continue
		}
		plan.Layers = append(plan.Layers, LayerWork{Registry: w.repo.Registry, Repository: w.repo.Name,
			Digest: l.Digest, DiffID: l.DiffID, MediaType: l.MediaType, Size: l.Size})
	}
	if err := c.opts.Plan.PlanImage(ctx, plan); err != nil {
		fail("", err)
		return
	}
	c.countImage(w.repo, digest)
	c.log.Info("planned image", "repository", w.repo.String(), "reference", w.ref, "digest", digest, "layers to read", len(plan.Layers))
}

// ReadLayer reads the layer blob lw names from its registry, as a crawl
// reads a layer (the same limits, scanners, retries, politeness and
// checks), into into (nil: the crawler's sink), unless into has it
// already. It reports whether it read the blob, and the scanners that
// failed on it. An error says why the layer could not be stored, its
// secrets redacted.
func (c *Crawler) ReadLayer(ctx context.Context, lw LayerWork, into LayerStore) (bool, []auditor.LayerScan, error) {
	if into == nil {
		into = c.sink
	}
	if done, err := into.HasLayer(ctx, lw.Digest); err != nil || done {
		return false, nil, err
	}
	rc, err := c.client(lw.Registry)
	if err != nil {
		return false, nil, err
	}
	repo, err := rc.repository(lw.Repository)
	if err != nil {
		return false, nil, err
	}
	p := &imageParts{
		Open: func(ctx context.Context, l layerRef) (io.ReadCloser, error) {
			return rc.openBlob(ctx, repo, l.Digest)
		},
		Sem: rc.layerSem, Redact: rc.redact, Sink: into,
	}
	c.stats.layersToRead.Add(1)
	failed, err := c.readLayer(ctx, p, layerRef{Digest: lw.Digest, DiffID: lw.DiffID, MediaType: lw.MediaType, Size: lw.Size})
	if err != nil {
		return true, nil, &redactedError{rc.redact, err}
	}
	return true, failed, nil
}
