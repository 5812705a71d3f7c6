// Package overlaytest builds random layer stacks for the overlay
// computation's differential tests (the overlay package's and each
// store's).
package overlaytest

import (
	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/overlay"
)

// LayersFromBytes decodes fuzz input into a layer stack over a small set of
// paths that share prefixes ("/a/b", "/a/b-x", "/a/b/c", ...), with every
// entry type (symlinks to paths of the set, relative or absolute), duplicates within a layer and layers listed twice. Entry ids
// grow in tar order within a layer, but layers' id ranges are not in
// position order, as in a real index.
func LayersFromBytes(data []byte) [][]overlay.Entry {
	names := []string{"a", "b", "b-x", "c", "b.d", "b\x01", "b c", "é"}
	// Symlink targets: relative, absolute, climbing above the root, to a
	// sibling that shares a prefix, to themselves.
	links := []string{"a", "b", "/a/b", "../c", "../../..", "/", ".", "b-x/", "c/../b", "/b c/a", ""}
	types := []auditor.EntryType{auditor.TypeFile, auditor.TypeDir, auditor.TypeDir, auditor.TypeSymlink, auditor.TypeHardlink, auditor.TypeWhiteout, auditor.TypeOpaque, auditor.TypeChar, auditor.TypeFile, auditor.TypeDir}
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	nLayers := next()%5 + 1
	var layers [][]overlay.Entry
	base := int64(1000)
	for range nLayers {
		if len(layers) > 0 && next()%8 == 0 { // a layer listed again
			layers = append(layers, layers[next()%len(layers)])
			continue
		}
		base -= 100 // later layers get lower ids
		n := next() % 12
		var l []overlay.Entry
		for i := range n {
			depth := next() % 4
			p := ""
			for range depth {
				p += "/" + names[next()%len(names)]
			}
			if p == "" {
				p = "/"
			}
			e := overlay.Entry{ID: base + int64(i), Path: p, Type: types[next()%len(types)]}
			if e.Type == auditor.TypeSymlink || e.Type == auditor.TypeHardlink {
				e.Link = links[next()%len(links)]
			}
			l = append(l, e)
		}
		layers = append(layers, l)
	}
	return layers
}
