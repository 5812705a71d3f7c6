package crawl

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/auditor-dev/auditor/index"
)

// layerError is a failure of one layer blob.
type layerError struct {
	digest string
	err    error
}

func (e *layerError) Error() string { return fmt.Sprintf("layer %s: %v", e.digest, e.err) }
func (e *layerError) Unwrap() error { return e.err }

// indexImage reads the config and every layer not yet indexed of one image
// manifest, then stores the image. A layer that fails leaves the image not
// indexed (the next scan tries again); the other layers stay stored.
func (c *Crawler) indexImage(ctx context.Context, j tagJob, rd *remote.Descriptor, parent string) error {
	img, err := rd.Image()
	if err != nil {
		return fmt.Errorf("image %s: %w", rd.Digest, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("image %s: manifest: %w", rd.Digest, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image %s: config %s: %w", rd.Digest, m.Config.Digest, err)
	}
	rec := imageRecord(rd, m, cf)
	if len(cf.RootFS.DiffIDs) != 0 && len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return fmt.Errorf("image %s: config lists %d diff_ids for %d layers", rd.Digest, len(cf.RootFS.DiffIDs), len(m.Layers))
	}

	g, gctx := errgroup.WithContext(ctx)
	seen := map[string]bool{}
	for i, l := range m.Layers {
		d := l.Digest.String()
		if seen[d] {
			continue
		}
		seen[d] = true
		in := LayerInput{Digest: d, MediaType: string(l.MediaType), Content: c.opts.Content}
		if i < len(cf.RootFS.DiffIDs) {
			in.DiffID = cf.RootFS.DiffIDs[i].String()
		}
		g.Go(func() error { return c.ensureLayer(gctx, j, l, in) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := c.sink.PutImage(ctx, j.rec(), parent, rec); err != nil {
		return err
	}
	c.stats.images.Add(1)
	c.log.Info("indexed image", "repository", j.repo.String(), "reference", j.reference(), "digest", rec.Digest, "platform", rec.Platform.String(), "layers", len(rec.Layers))
	return nil
}

// ensureLayer makes sure a layer is indexed, reading it at most once per
// crawl however many images share it, and never when it is already indexed.
func (c *Crawler) ensureLayer(ctx context.Context, j tagJob, desc v1.Descriptor, in LayerInput) error {
	done, err := c.sink.HasLayer(ctx, in.Digest)
	if err != nil {
		return &layerError{in.Digest, err}
	}
	if done {
		c.stats.layersSkipped.Add(1)
		return nil
	}
	_, err, shared := c.layerSF.Do(in.Digest, func() (any, error) {
		// Another image may have finished it between the check and here.
		if done, err := c.sink.HasLayer(ctx, in.Digest); err != nil || done {
			return nil, err
		}
		c.stats.layersToRead.Add(1)
		return nil, c.readLayer(ctx, j, desc, in)
	})
	if shared && err == nil {
		c.stats.layersSkipped.Add(1)
	}
	if err != nil {
		var le *layerError
		if errors.As(err, &le) {
			return err
		}
		return &layerError{in.Digest, err}
	}
	return nil
}

func (c *Crawler) readLayer(ctx context.Context, j tagJob, desc v1.Descriptor, in LayerInput) error {
	if err := j.rc.layerSem.Acquire(ctx, 1); err != nil {
		return err
	}
	defer j.rc.layerSem.Release(1)
	ref, err := name.NewDigest(j.repo.String()+"@"+in.Digest, j.rc.nameOpts...)
	if err != nil {
		return err
	}
	l, err := j.rc.puller.Layer(ctx, ref)
	if err != nil {
		return fmt.Errorf("%s", j.rc.redact(err))
	}
	rc, err := l.Compressed() // go-containerregistry verifies size and digest as it streams
	if err != nil {
		return fmt.Errorf("fetching blob: %s", j.rc.redact(err))
	}
	defer rc.Close()
	pr := &progressReader{r: rc, n: &c.stats.bytes}
	layer, err := ReadLayer(ctx, pr, in, c.opts.Limits)
	if err != nil {
		return err
	}
	if desc.Size > 0 && layer.Size != desc.Size {
		return fmt.Errorf("%w: blob is %d bytes, the manifest says %d", ErrDigestMismatch, layer.Size, desc.Size)
	}
	if err := c.sink.PutLayer(ctx, layer); err != nil {
		return err
	}
	c.stats.layersRead.Add(1)
	c.stats.files.Add(int64(len(layer.Entries)))
	c.stats.uncompressed.Add(layer.UncompressedSize)
	c.log.Debug("indexed layer", "digest", layer.Digest, "entries", len(layer.Entries), "bytes", layer.Size)
	return nil
}

// imageRecord maps a manifest and its config to what the index stores.
func imageRecord(rd *remote.Descriptor, m *v1.Manifest, cf *v1.ConfigFile) *index.Image {
	rec := &index.Image{
		Digest:       rd.Digest.String(),
		MediaType:    string(rd.MediaType),
		Size:         rd.Size,
		ConfigDigest: m.Config.Digest.String(),
		Platform:     index.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion},
		Created:      cf.Created.Time,
		User:         cf.Config.User,
		WorkingDir:   cf.Config.WorkingDir,
		Entrypoint:   cf.Config.Entrypoint,
		Cmd:          cf.Config.Cmd,
		Env:          cf.Config.Env,
		Labels:       cf.Config.Labels,
		StopSignal:   cf.Config.StopSignal,
	}
	if rec.MediaType == "" {
		rec.MediaType = string(m.MediaType)
	}
	for p := range cf.Config.ExposedPorts {
		rec.ExposedPorts = append(rec.ExposedPorts, p)
	}
	sort.Strings(rec.ExposedPorts)
	for v := range cf.Config.Volumes {
		rec.Volumes = append(rec.Volumes, v)
	}
	sort.Strings(rec.Volumes)
	for _, h := range cf.History {
		rec.History = append(rec.History, index.History{Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment, Author: h.Author, EmptyLayer: h.EmptyLayer})
	}
	for _, l := range m.Layers {
		rec.Layers = append(rec.Layers, l.Digest.String())
	}
	return rec
}

// progressReader adds the bytes it reads to a shared counter.
type progressReader struct {
	r interface{ Read([]byte) (int, error) }
	n interface{ Add(int64) int64 }
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n.Add(int64(n))
	return n, err
}
