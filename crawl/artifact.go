package crawl

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor"
)

// errArtifact marks a manifest that is not a container image but another
// OCI artifact: a signature, an attestation, a Helm chart, an SBOM. The
// crawler skips it (and counts it) instead of failing on its layers.
var errArtifact = errors.New("not a container image")

// notImage returns an error wrapping errArtifact when m's config is not an
// image configuration or a layer is not a filesystem tar, nil otherwise.
// An empty media type is taken as an image's: early clients left them out.
// The index remembers what it decided (artifact_manifests): a change that
// makes it take more manifests for images needs a migration that empties
// that table, so those manifests are read again.
func notImage(m *v1.Manifest) error {
	if mt := m.Config.MediaType; mt != "" && !mt.IsConfig() {
		return fmt.Errorf("%w: config media type %s", errArtifact, mt)
	}
	for _, l := range m.Layers {
		if !isLayer(l.MediaType) {
			return fmt.Errorf("%w: layer %s has media type %s", errArtifact, l.Digest, l.MediaType)
		}
	}
	return nil
}

// isLayer reports whether mt names a filesystem layer: one
// go-containerregistry knows, or a variant of the OCI or Docker layer
// types it does not (Docker's zstd, non-distributable zstd): the reader
// finds the compression from the bytes anyway.
func isLayer(mt types.MediaType) bool {
	s := string(mt)
	return s == "" || mt.IsLayer() ||
		strings.HasPrefix(s, "application/vnd.oci.image.layer.") || strings.HasPrefix(s, "application/vnd.docker.image.rootfs.")
}

// attestationChild reports whether an index child is an attestation
// manifest (BuildKit's provenance and SBOMs: platform unknown/unknown,
// annotated as such), which holds no filesystem.
func attestationChild(d v1.Descriptor) bool {
	return d.Annotations["vnd.docker.reference.type"] == "attestation-manifest"
}

// skipArtifact logs and counts a manifest skipped as an artifact, and
// records it so that later scans skip it without fetching it.
func (c *Crawler) skipArtifact(ctx context.Context, registry, repository, reference, digest string, err error) {
	c.stats.artifacts.Add(1)
	c.log.Info("skipped", "registry", registry, "repository", repository, "reference", reference, "manifest", digest, "reason", err.Error())
	if err := c.sink.PutArtifact(ctx, digest, strings.TrimPrefix(err.Error(), errArtifact.Error()+": ")); err != nil {
		c.fail(ctx, auditor.ScanError{Registry: registry, Repository: repository, Reference: reference, Message: err.Error()})
	}
}
