package index

import "encoding/binary"

// prefixCacheMax bounds the entries, over all kept prefixes, whose overlay
// trees the prefix cache keeps (each also charged the top layer laid over
// it last, at most as large: what it grew in the tree's maps stays): a tree
// costs some 70 bytes per entry beyond the entries themselves, so about
// 9 MB at most.
const prefixCacheMax = 1 << 17

// prefixCache keeps the overlay trees of the layers images share below
// their top layer (an image's layers but its last), keyed by prefixKey, so
// that the tags of one application, which differ in their top layer,
// compute the visibility of their shared layers once. A tree is taken out
// while it is in use (take), so two callers never share one.
type prefixCache = sizedLRU[string, *overlayTree]

func newPrefixCache() *prefixCache { return newSizedLRU[string, *overlayTree](prefixCacheMax) }

// prefixKey names a stack of stored layers.
func prefixKey(spans []layerSpan) string {
	b := make([]byte, 0, len(spans)*2*binary.MaxVarintLen64)
	for _, s := range spans {
		b = binary.AppendVarint(b, s.id)
		b = binary.AppendVarint(b, s.first)
	}
	return string(b)
}
