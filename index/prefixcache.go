package index

import (
	"encoding/binary"

	"github.com/auditor-dev/auditor/overlay"
)

// prefixCacheMax bounds the bytes, over all kept prefixes, of the overlay
// trees the prefix cache keeps, as overlay.TreeCharge counts them (each also
// charged the top layer laid over it last, at most as large: what it grew
// in the tree's maps stays): some 94 bytes a node and the paths its names
// keep alive, about 150 bytes an entry for real paths (110,000 entries).
const prefixCacheMax = 16 << 20

// prefixCache keeps the overlay trees of the layers images share below
// their top layer (an image's layers but its last), keyed by prefixKey, so
// that the tags of one application, which differ in their top layer,
// compute the visibility of their shared layers once. A tree is taken out
// while it is in use (take), so two callers never share one.
type prefixCache = sizedLRU[string, *overlay.Tree]

func newPrefixCache() *prefixCache { return newSizedLRU[string, *overlay.Tree](prefixCacheMax) }

// prefixKey names a stack of stored layers.
func prefixKey(spans []layerSpan) string {
	b := make([]byte, 0, len(spans)*2*binary.MaxVarintLen64)
	for _, s := range spans {
		b = binary.AppendVarint(b, s.id)
		b = binary.AppendVarint(b, s.first)
	}
	return string(b)
}
