package index

import "encoding/binary"

// prefixCacheMax bounds the bytes, over all kept prefixes, of the overlay
// trees the prefix cache keeps, as treeCharge counts them (each also
// charged the top layer laid over it last, at most as large: what it grew
// in the tree's maps stays): some 94 bytes a node and the paths its names
// keep alive, about 150 bytes an entry for real paths (110,000 entries).
const prefixCacheMax = 16 << 20

// treeNodeBytes is what an overlay tree costs per entry applied, beyond
// the entry's path: 70, and 24 since nodes keep their entry's layer
// position and link target (BenchmarkOverlay/image: 3.11 -> 4.01 MB for
// 37,150 entries).
const treeNodeBytes = 94

// treeCharge is what entries applied to an overlay tree cost it.
func treeCharge(entries []OverlayEntry) int { return entriesCharge(entries, treeNodeBytes) }

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
