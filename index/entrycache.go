package index

import "unsafe"

// entryCacheMax bounds the bytes of the entries the layer entry cache
// holds, across layers, as entriesCharge counts them: some 90 bytes an
// entry for real paths (1<<19 entries), far fewer entries when a crafted
// layer has long names.
const entryCacheMax = 48 << 20

// overlayEntryBytes is what an OverlayEntry costs beyond its path's bytes.
const overlayEntryBytes = int(unsafe.Sizeof(OverlayEntry{}))

// entriesCharge is what entries cost a cache that keeps them, or keeps
// perEntry bytes of its own for each (the nodes of an overlay tree): their
// structs and their paths' and link targets' bytes, so that long names
// count as they weigh.
func entriesCharge(entries []OverlayEntry, perEntry int) int {
	n := len(entries) * perEntry
	for _, e := range entries {
		n += len(e.Path) + len(e.Link)
	}
	return n
}

// layerKey names a stored layer's entries: its row id and first entry id
// (a layer dropped and stored again gets new entry ids).
type layerKey struct{ id, first int64 }

// entryCache keeps the overlay entries of recently used layers, so that
// images sharing base layers, stored one after another in a scan, do not
// read those layers' entries back from SQLite each time. Stored layers never
// change, so entries are valid for as long as their key exists.
type entryCache = sizedLRU[layerKey, []OverlayEntry]

func newEntryCache() *entryCache { return newSizedLRU[layerKey, []OverlayEntry](entryCacheMax) }
