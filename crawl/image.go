package crawl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/auditor-dev/auditor"
)

// layerError is a failure of one layer blob.
type layerError struct {
	digest string
	err    error
}

func (e *layerError) Error() string { return fmt.Sprintf("layer %s: %v", e.digest, e.err) }
func (e *layerError) Unwrap() error { return e.err }

// layerRef is one layer of an image, as its manifest (or archive) lists it.
type layerRef struct {
	Digest    string // of the blob the source serves
	DiffID    string // from the config; "" if it lists none
	MediaType string
	Size      int64 // of the blob; 0 if unknown
}

// imageParts is one image, from whatever source: the manifest facts, the
// parsed config, its layers, and how to open a layer blob. Every source
// (registry, OCI layout or archive, docker archive) hands the crawler this,
// so there is one code path that reads layers and stores images.
type imageParts struct {
	Digest       string // manifest digest (for docker archives: the image ID)
	MediaType    string
	Size         int64
	ConfigDigest string
	Config       *v1.ConfigFile
	Layers       []layerRef

	// Open returns the blob of a layer; the caller closes it.
	Open func(ctx context.Context, l layerRef) (io.ReadCloser, error)
	// Verify makes the reader hash blobs against their digest, for sources
	// that do not verify what they serve.
	Verify bool
	// ByDiffID lets a layer reuse an indexed layer of the same diff_id
	// (another blob of the same tar) instead of being read: for docker
	// archives, whose layers have no blob digest of their own.
	ByDiffID bool
	// CheckDiffID makes the reader check the diff_id of every layer: for
	// sources whose layers are known by their diff_id.
	CheckDiffID bool
	// Sem bounds how many layers this source reads at once.
	Sem *slots
	// Redact hides secrets in error messages.
	Redact func(error) string
	// Sink, when set, is where the layers go instead of the crawler's
	// sink (Crawler.ReadLayer).
	Sink LayerStore
}

// indexImage reads every layer not yet indexed of one image, then stores the
// image. A layer that fails leaves the image not indexed (the next scan tries
// again); the other layers stay stored.
func (c *Crawler) indexImage(ctx context.Context, repo auditor.Repo, ref string, parent via, p *imageParts) error {
	rec := imageRecordVia(p, parent)

	// No shared cancellation: when one layer fails, the others still finish
	// and stay indexed for the next scan and for other images.
	var g errgroup.Group
	stored := make([]string, len(p.Layers))                // the digest each layer is indexed under
	scanErrs := make([][]auditor.LayerScan, len(p.Layers)) // scanners that failed on the layers read here
	for i, l := range p.Layers {
		g.Go(func() error {
			d, failed, err := c.ensureLayer(ctx, p, l)
			stored[i], scanErrs[i] = d, failed
			return err
		})
	}
	err := g.Wait()
	// A scanner's failure on a layer is the layer's, recorded with it (the
	// layer_scans view); it is reported once, by the image that read it,
	// and its files are indexed all the same.
	for i, failed := range scanErrs {
		for _, s := range failed {
			c.fail(ctx, auditor.ScanError{Registry: repo.Registry, Repository: repo.Name, Reference: ref, LayerDigest: stored[i],
				Message: fmt.Sprintf("layer %s: scanner %s (version %s): %s", stored[i], s.Scanner, s.Version, s.Error)})
		}
	}
	if err != nil {
		return err
	}
	rec.Layers = stored
	for _, l := range p.Layers {
		rec.LayerMediaTypes = append(rec.LayerMediaTypes, l.MediaType)
	}
	if err := c.sink.PutImage(ctx, repo, parent.Digest, rec); err != nil {
		return err
	}
	c.countImage(repo, rec.Digest)
	c.log.Info("indexed image", "repository", repo.String(), "reference", ref, "digest", rec.Digest, "platform", rec.Platform.String(), "layers", len(rec.Layers))
	return nil
}

// ensureLayer makes sure a layer is indexed, reading it at most once per
// crawl however many images share it, and never when it is already indexed.
// It returns the digest the layer is indexed under and, when this call read
// it, the scanners that failed on it.
func (c *Crawler) ensureLayer(ctx context.Context, p *imageParts, l layerRef) (string, []auditor.LayerScan, error) {
	lookup := func() (string, error) {
		if done, err := c.sink.HasLayer(ctx, l.Digest); err != nil || done {
			if done {
				return l.Digest, nil
			}
			return "", err
		}
		if p.ByDiffID && l.DiffID != "" {
			return c.sink.LayerByDiffID(ctx, l.DiffID)
		}
		return "", nil
	}
	d, err := lookup()
	if err != nil {
		return "", nil, &layerError{l.Digest, err}
	}
	if d != "" {
		c.stats.layersSkipped.Add(1)
		return d, nil, nil
	}
	type read struct {
		digest string
		failed []auditor.LayerScan
	}
	v, err, shared := c.layerSF.Do(l.Digest, func() (any, error) {
		// Another image may have finished it between the check and here.
		if d, err := lookup(); err != nil || d != "" {
			return read{digest: d}, err
		}
		c.stats.layersToRead.Add(1)
		failed, err := c.readLayer(ctx, p, l)
		return read{l.Digest, failed}, err
	})
	if err != nil {
		var le *layerError
		if errors.As(err, &le) {
			return "", nil, err
		}
		return "", nil, &layerError{l.Digest, err}
	}
	r := v.(read)
	if shared {
		c.stats.layersSkipped.Add(1)
		return r.digest, nil, nil
	}
	return r.digest, r.failed, nil
}

// readLayer reads a layer into the sink and returns the scanners that
// failed on it.
func (c *Crawler) readLayer(ctx context.Context, p *imageParts, l layerRef) ([]auditor.LayerScan, error) {
	if err := p.Sem.acquire(ctx, l.Size); err != nil {
		return nil, err
	}
	defer p.Sem.release()
	// A blob cut off mid-stream is read again from the start.
	var failed []auditor.LayerScan
	err := withRetries(ctx, c.opts.Retry, streamFailed, func() error {
		var err error
		failed, err = c.readLayerOnce(ctx, p, l)
		return err
	})
	return failed, err
}

// readLayerOnce streams a layer blob into the sink, a chunk of entries at
// a time: memory does not grow with the layer. The layer becomes visible
// only once it was read to its end and checked. It returns the scanners
// that failed on the layer.
func (c *Crawler) readLayerOnce(ctx context.Context, p *imageParts, l layerRef) ([]auditor.LayerScan, error) {
	rc, err := p.Open(ctx, l)
	if err != nil {
		return nil, fmt.Errorf("fetching blob: %w", &redactedError{p.Redact, err})
	}
	defer rc.Close()
	lim := c.opts.Limits.withDefaults()
	var sink LayerStore = c.sink
	if p.Sink != nil {
		sink = p.Sink
	}
	w, err := sink.BeginLayer(ctx, l.Digest, lim.MaxEntries)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := w.Abort(ctx); err != nil {
			c.log.Error("removing an unfinished layer", "digest", l.Digest, "error", err)
		}
	}()
	var scanners []LayerScanner // only those that did not read it yet, for an indexed layer
	for _, s := range c.opts.Scanners {
		if w.Scans(s.Name()) {
			scanners = append(scanners, s)
		}
	}
	trap := &streamTrap{r: rc}
	pr := &progressReader{r: trap, n: &c.stats.bytes}
	layer, err := StreamLayer(ctx, pr, LayerInput{Digest: l.Digest, MediaType: l.MediaType, DiffID: l.DiffID, Verify: p.Verify, CheckDiffID: p.CheckDiffID, Scanners: scanners}, lim, w)
	if err != nil {
		return nil, trap.classify(err)
	}
	if l.Size > 0 && layer.Size != l.Size {
		return nil, fmt.Errorf("%w: blob is %d bytes, the manifest says %d", ErrDigestMismatch, layer.Size, l.Size)
	}
	if err := w.Commit(ctx, layer); err != nil {
		return nil, err
	}
	c.stats.layersRead.Add(1)
	if w.Indexed() && len(scanners) > 0 {
		c.stats.layersRescanned.Add(1)
		for _, s := range scanners {
			c.stats.rescanners.Store(s.Name(), true)
		}
	}
	c.stats.files.Add(w.Len())
	c.stats.uncompressed.Add(layer.UncompressedSize)
	c.log.Debug("indexed layer", "digest", layer.Digest, "entries", w.Len(), "bytes", layer.Size)
	var failed []auditor.LayerScan
	for _, s := range layer.Scans {
		if s.Error != "" {
			failed = append(failed, s)
		}
	}
	return failed, nil
}

// manifestLayers lists a manifest's layers with the config's diff_ids.
func manifestLayers(m *v1.Manifest, cf *v1.ConfigFile) ([]layerRef, error) {
	if n := len(cf.RootFS.DiffIDs); n != 0 && n != len(m.Layers) {
		return nil, fmt.Errorf("config lists %d diff_ids for %d layers", n, len(m.Layers))
	}
	out := make([]layerRef, len(m.Layers))
	for i, l := range m.Layers {
		out[i] = layerRef{Digest: l.Digest.String(), MediaType: string(l.MediaType), Size: l.Size}
		if i < len(cf.RootFS.DiffIDs) {
			out[i].DiffID = cf.RootFS.DiffIDs[i].String()
		}
	}
	return out, nil
}

// imageRecordVia is imageRecord with what the config leaves out of the
// platform (often the variant) taken from the index that led to it.
func imageRecordVia(p *imageParts, parent via) *auditor.Image {
	rec := imageRecord(p)
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&rec.Platform.OS, parent.Platform.OS}, {&rec.Platform.Architecture, parent.Platform.Architecture},
		{&rec.Platform.Variant, parent.Platform.Variant}, {&rec.Platform.OSVersion, parent.Platform.OSVersion},
	} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
	return rec
}

// imageRecord maps an image's parts to what the index stores.
func imageRecord(p *imageParts) *auditor.Image {
	cf := p.Config
	rec := &auditor.Image{
		Digest:       p.Digest,
		MediaType:    p.MediaType,
		Size:         p.Size,
		ConfigDigest: p.ConfigDigest,
		Platform:     auditor.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion},
		Created:      cf.Created.Time,
		User:         cf.Config.User,
		WorkingDir:   cf.Config.WorkingDir,
		Entrypoint:   cf.Config.Entrypoint,
		Cmd:          cf.Config.Cmd,
		Env:          cf.Config.Env,
		Labels:       cf.Config.Labels,
		StopSignal:   cf.Config.StopSignal,
		OnBuild:      cf.Config.OnBuild,
		Shell:        cf.Config.Shell,
	}
	if h := cf.Config.Healthcheck; h != nil {
		rec.Healthcheck = &auditor.Healthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
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
		rec.History = append(rec.History, auditor.History{Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment, Author: h.Author, EmptyLayer: h.EmptyLayer})
	}
	return rec
}

// progressReader adds the bytes it reads to a shared counter.
type progressReader struct {
	r io.Reader
	n interface{ Add(int64) int64 }
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n.Add(int64(n))
	return n, err
}
