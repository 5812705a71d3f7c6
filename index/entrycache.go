package index

// entryCacheMax bounds the entries the layer entry cache holds, across
// layers: about 90 bytes each (id, type and path), so some 45 MB at most.
const entryCacheMax = 1 << 19

// layerKey names a stored layer's entries: its row id and first entry id
// (a layer dropped and stored again gets new entry ids).
type layerKey struct{ id, first int64 }

// entryCache keeps the overlay entries of recently used layers, so that
// images sharing base layers, stored one after another in a scan, do not
// read those layers' entries back from SQLite each time. Stored layers never
// change, so entries are valid for as long as their key exists.
type entryCache = sizedLRU[layerKey, []OverlayEntry]

func newEntryCache() *entryCache { return newSizedLRU[layerKey, []OverlayEntry](entryCacheMax) }
