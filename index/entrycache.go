package index

import (
	"unsafe"

	"github.com/auditor-dev/auditor/overlay"
)

// entryCacheMax bounds the bytes of the entries the layer entry cache
// holds, across layers, as overlay.EntriesCharge counts them: some 90 bytes an
// entry for real paths (1<<19 entries), far fewer entries when a crafted
// layer has long names.
const entryCacheMax = 48 << 20

// overlayEntryBytes is what an overlay.Entry costs beyond its path's bytes.
const overlayEntryBytes = int(unsafe.Sizeof(overlay.Entry{}))

// layerKey names a stored layer's entries: its row id and first entry id
// (a layer dropped and stored again gets new entry ids).
type layerKey struct{ id, first int64 }

// entryCache keeps the overlay entries of recently used layers, so that
// images sharing base layers, stored one after another in a scan, do not
// read those layers' entries back from SQLite each time. Stored layers never
// change, so entries are valid for as long as their key exists.
type entryCache = sizedLRU[layerKey, []overlay.Entry]

func newEntryCache() *entryCache { return newSizedLRU[layerKey, []overlay.Entry](entryCacheMax) }
