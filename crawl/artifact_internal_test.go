package crawl

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestIsLayer(t *testing.T) {
	for mt, want := range map[types.MediaType]bool{
		"":                 true,
		types.OCILayer:     true,
		types.DockerLayer:  true,
		types.OCILayerZStd: true,
		"application/vnd.docker.image.rootfs.diff.tar.zstd":            true,
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": true,
		"application/vnd.in-toto+json":                                 false,
		"application/vnd.dev.cosign.simplesigning.v1+json":             false,
		"application/vnd.cncf.helm.chart.content.v1.tar+gzip":          false,
		"application/spdx+json":                                        false,
	} {
		if got := isLayer(mt); got != want {
			t.Errorf("isLayer(%q) = %v, want %v", mt, got, want)
		}
	}
}
