package crawl

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Manifest limit defaults. The OCI distribution spec asks registries to
// accept manifests of at least 4 MiB; real ones are a few KiB. Real indexes
// are one level deep (an index of platform manifests); two allow for
// nested attestation indexes.
// A catalog or tag list is read in pages of up to 1000 (Options.PageSize);
// the default page bound allows ten million names, and stops a registry
// whose Link: rel="next" never ends.
const (
	DefaultMaxManifestSize = 4 << 20
	DefaultMaxIndexDepth   = 4
	DefaultMaxListPages    = 10_000
)

// ErrListLimit is wrapped by errors for a catalog or tag list of more than
// Limits.MaxListPages pages.
var ErrListLimit = errors.New("list exceeds limit")

// ErrManifestLimit is wrapped by errors for a manifest larger than
// Limits.MaxManifestSize.
var ErrManifestLimit = errors.New("manifest exceeds limit")

// ErrMediaTypeLies is wrapped by errors for a manifest whose declared media
// type does not match its content.
var ErrMediaTypeLies = errors.New("media type does not match content")

func (l Limits) manifestSize() int64 {
	if l.MaxManifestSize <= 0 {
		return DefaultMaxManifestSize
	}
	return l.MaxManifestSize
}

func (l Limits) listPages() int {
	if l.MaxListPages <= 0 {
		return DefaultMaxListPages
	}
	return l.MaxListPages
}

func (l Limits) indexDepth() int {
	if l.MaxIndexDepth <= 0 {
		return DefaultMaxIndexDepth
	}
	return l.MaxIndexDepth
}

// manifestShape is what a manifest's JSON says about its kind.
type manifestShape struct {
	MediaType string            `json:"mediaType"`
	Manifests []json.RawMessage `json:"manifests"`
	Config    *json.RawMessage  `json:"config"`
	FSLayers  []json.RawMessage `json:"fsLayers"`
}

// manifestMediaType decides a manifest's media type. The mediaType field of
// the body is covered by the digest, so it wins over the Content-Type the
// registry (or a proxy) sent; without one, the header is kept when it names
// a manifest type that fits the content, else the type is inferred from the
// content (a manifest without mediaType is OCI: Docker's always have one).
func manifestMediaType(header types.MediaType, raw []byte) types.MediaType {
	var s manifestShape
	if json.Unmarshal(raw, &s) != nil {
		return header
	}
	if s.MediaType != "" {
		return types.MediaType(s.MediaType)
	}
	switch header {
	case types.OCIImageIndex, types.DockerManifestList:
		if s.Manifests != nil {
			return header
		}
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
		if s.Config != nil {
			return header
		}
	case types.DockerManifestSchema1, types.DockerManifestSchema1Signed:
		return header
	}
	switch {
	case s.Manifests != nil && s.Config == nil:
		return types.OCIImageIndex
	case s.Config != nil && s.Manifests == nil:
		return types.OCIManifestSchema1
	}
	return header
}

// classifyManifest decides a manifest's media type from its content (see
// manifestMediaType; header is what the registry or layout declared) and
// says whether it is an image or an index; a body that contradicts its media
// type is an error wrapping ErrMediaTypeLies.
func classifyManifest(header types.MediaType, raw []byte) (types.MediaType, manifestClass, error) {
	mt := manifestMediaType(header, raw)
	kind, err := manifestKind(mt, raw)
	if err != nil {
		return mt, kind, err
	}
	var s manifestShape
	if err := json.Unmarshal(raw, &s); err != nil {
		return mt, kind, fmt.Errorf("%w: not JSON: %v", errUnsupported, err)
	}
	switch {
	case kind == kindIndex && s.Manifests == nil:
		return mt, kind, fmt.Errorf("%w: %s declares an index but lists no manifests", ErrMediaTypeLies, mt)
	case kind == kindImage && s.Config == nil:
		return mt, kind, fmt.Errorf("%w: %s declares an image manifest but has no config", ErrMediaTypeLies, mt)
	}
	return mt, kind, nil
}

// badWhiteout reports a whiteout target that names no file of its
// directory: ".wh." alone, ".wh.." and ".wh..." would otherwise delete the
// directory itself or its parent. Such entries are kept as the plain files
// they are, with their names, for rules to find.
func badWhiteout(target string) bool {
	return target == "" || target == "." || target == ".."
}
