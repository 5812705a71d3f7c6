package crawl

import (
	"context"

	"github.com/auditor-dev/auditor"
)

// The crawler writes through the roles below and nothing else: every index
// back end implements Sink (the SQLite one is index.DB, checked there at
// compile time). Each method is safe for concurrent use: the crawler calls
// them from many goroutines. ctx governs the call; an error names the
// digest, repository or tag that failed.

// Sink is where the crawler stores what it finds.
type Sink interface {
	ScannerSetter
	LayerStore
	ManifestStore
	TagStore
}

// ScannerSetter is told the crawl's per-layer scanners.
type ScannerSetter interface {
	// SetScanners sets the per-layer scanners of the crawl and their
	// versions (vs is not kept). Until it is called again, a layer counts
	// as done (HasLayer, LayerByDiffID) only when each of them read it at
	// its version, an image (Manifest) only when each read all its layers,
	// and BeginLayer on an indexed layer hands out a writer whose Scans
	// names those that did not.
	SetScanners(vs []auditor.ScannerVersion)
}

// LayerStore holds layers by blob digest.
type LayerStore interface {
	// HasLayer reports whether the layer blob digest is fully stored, by
	// the store's current reader version and read by every scanner set
	// (SetScanners) at its version. It is true after a LayerWriter of
	// digest committed, and stays true until the scanners change.
	HasLayer(ctx context.Context, digest string) (bool, error)
	// LayerByDiffID returns the digest of a layer for which HasLayer is
	// true and whose uncompressed tar has this diff_id, or "" when there is
	// none (another blob of the same tar then stands in for it).
	LayerByDiffID(ctx context.Context, diffID string) (string, error)
	// BeginLayer starts storing the layer blob digest, of at most
	// maxEntries entries (maxEntries <= 0 is an error), streamed a chunk at
	// a time: memory does not grow with the layer. Nothing of it is
	// visible before the writer's Commit returns nil. When the layer is
	// stored already (HasLayer is false only for scanners that did not read
	// it), the writer is Indexed and keeps only what those scanners find.
	BeginLayer(ctx context.Context, digest string, maxEntries int64) (LayerWriter, error)
}

// LayerWriter stores one layer whose entries arrive in tar order. Its
// methods are called from one goroutine. Every writer ends with Commit or
// Abort (Abort after a Commit that returned nil does nothing, so
// `defer w.Abort(ctx)` is the pattern).
type LayerWriter interface {
	// EntrySink takes the entries (Add) and what the scanners find.
	// Add fails past maxEntries entries, or with an earlier write's error.
	EntrySink
	// Indexed reports whether the layer was stored already when BeginLayer
	// returned: its entries are counted (Len) but not stored again.
	Indexed() bool
	// Scans reports whether the scanner named must read the layer: every
	// scanner when it is not Indexed; otherwise those that did not read it
	// at the version set.
	Scans(scanner string) bool
	// Len returns how many entries were added.
	Len() int64
	// Commit stores the layer with what l says of the blob (l.Digest must
	// be the writer's; its Entries, ContentMatches, ContentDropped,
	// Configs, Captures and Digests are ignored: the EntrySink calls gave
	// them) and its Scans, in one transaction. After it returns nil, the
	// layer and all its entries are visible whole and HasLayer(digest) is
	// true; after an error nothing of it is, and the caller Aborts. A layer
	// committed by another writer meanwhile is kept as that one stored it.
	// An Indexed writer stores only what its scanners found, and only when
	// the same number of entries was added.
	Commit(ctx context.Context, l *auditor.Layer) error
	// Abort gives the layer up: after it returns, nothing the writer wrote
	// remains (it cleans up even when ctx is cancelled). It does nothing
	// after a Commit that returned nil, or a second time.
	Abort(ctx context.Context) error
}

// ManifestStore holds manifests by digest: images, image indexes, and
// manifests that are not images.
type ManifestStore interface {
	// Manifest reports what is stored of a manifest digest: the zero
	// ManifestState when nothing is. An image is Indexed only when PutImage
	// stored it whole by the store's current config version and its layers
	// were read by every scanner set; an index is Indexed after PutIndex,
	// with the Children it stored.
	Manifest(ctx context.Context, digest string) (auditor.ManifestState, error)
	// PutArtifact records that manifest digest is not a container image,
	// and why: Manifest then returns that reason as Artifact.
	PutArtifact(ctx context.Context, digest, reason string) error
	// PutIndex stores an image index and the manifests it lists, in order
	// (replacing the list stored before). It does not store the children.
	PutIndex(ctx context.Context, idx *auditor.ImageIndex) error
	// PutImage stores an image whose layers (img.Layers) all have HasLayer
	// true, with its config and history, computes its merged filesystem,
	// and links it to repo (through indexDigest, "" when a tag names the
	// image itself), in one transaction: after it returns nil, Manifest
	// reports it Indexed and it is visible whole in repo. An image stored
	// already is only linked (and its config filled in when stored by an
	// older config version).
	PutImage(ctx context.Context, repo auditor.Repo, indexDigest string, img *auditor.Image) error
	// LinkImage links an image stored whole to repo, as PutImage does, and
	// reports true; it reports false and writes nothing when the image is
	// not stored, or stored by an older config version (PutImage then
	// stores it again).
	LinkImage(ctx context.Context, repo auditor.Repo, indexDigest, digest string) (bool, error)
}

// TagStore records where tags point, over time.
type TagStore interface {
	// PutTag records that repo's tag points at digest now: a new mapping
	// is first seen now, a known one is seen again now (and is no longer
	// gone); a moved tag keeps its old mapping as it was.
	PutTag(ctx context.Context, repo auditor.Repo, tag, digest string) error
	// TagsListed records repo's complete tag list, read now: after it
	// returns, repo's other tags are gone (not current) unless the running
	// scan saw them (they may have been pushed after the list was read).
	TagsListed(ctx context.Context, repo auditor.Repo, tags []string) error
	// CurrentRepositories returns, sorted, the repositories of registry
	// that have a tag not gone.
	CurrentRepositories(ctx context.Context, registry string) ([]string, error)
}

// WriteLayer adds everything l holds in memory (its entries and what its
// scanners found) to w and commits it: the whole-layer form of a back end's
// PutLayer. The caller owns w and Aborts it after an error.
func WriteLayer(ctx context.Context, w LayerWriter, l *auditor.Layer) error {
	for i := range l.Entries {
		if err := w.Add(ctx, l.Entries[i]); err != nil {
			return err
		}
	}
	for _, m := range l.ContentMatches {
		w.AddMatch(m)
	}
	for _, d := range l.ContentDropped {
		w.AddDropped(d)
	}
	for _, f := range l.Configs {
		w.AddConfig(f)
	}
	for _, c := range l.Captures {
		w.AddCapture(c.Seq, c.Data)
	}
	for _, d := range l.Digests {
		w.AddDigests(d)
	}
	return w.Commit(ctx, l)
}
