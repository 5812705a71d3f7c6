package index

import "strings"

// HiddenHow says why an image does not show a layer entry.
type HiddenHow uint8

// Reasons an entry is hidden, as stored (image_files.hidden_how shows names).
const (
	HiddenDeleted     HiddenHow = 1 // a whiteout in a later layer deleted it
	HiddenOpaque      HiddenHow = 2 // a later layer made a parent directory opaque
	HiddenOverwritten HiddenHow = 3 // a later entry at the same path, or one that needs the path as a directory, replaced it
	HiddenMarker      HiddenHow = 4 // it is itself a whiteout or opaque marker
)

// OverlayEntry is what the visibility computation needs of a layer entry.
type OverlayEntry struct {
	ID   int64
	Path string
	Type EntryType
}

// Hidden records that an image hides entry ID; the layer at position By
// (0 is the bottom layer) hid it.
type Hidden struct {
	ID  int64
	By  int
	How HiddenHow
}

type ovNode struct {
	id       int64     // the entry now at this path; 0 for a directory no layer has an entry for
	typ      EntryType // of that entry; TypeDir when id is 0
	children map[string]*ovNode
}

// Overlay applies layers (bottom first, each in tar order) the way a
// container runtime builds an image's root filesystem, and returns every
// entry the final filesystem does not show, with the layer that hid it:
//   - whiteouts and opaque markers of a layer apply to lower layers only,
//     before the layer's other entries (as the OCI image spec requires);
//   - a later entry at the same path hides the earlier one (also within one
//     layer); a non-directory replacing a directory hides all beneath it,
//     a directory over a directory keeps the lower contents;
//   - an entry whose parent is a regular file (or other non-directory that is
//     not a symlink) in a lower layer hides that file, which becomes a
//     directory. Entries under a symlinked directory are taken at the path
//     the tar records: Overlay never follows links.
//
// Entries never hidden are visible. Overlay trusts nothing about the input
// beyond Path being absolute and clean.
func Overlay(layers [][]OverlayEntry) []Hidden {
	root := &ovNode{typ: TypeDir}
	var out []Hidden
	hideTree := func(n *ovNode, by int, how HiddenHow, self bool) {
		var walk func(*ovNode, bool)
		walk = func(n *ovNode, self bool) {
			if self && n.id != 0 {
				out = append(out, Hidden{ID: n.id, By: by, How: how})
			}
			for _, c := range n.children {
				walk(c, true)
			}
		}
		walk(n, self)
	}
	lookup := func(p string) (parent *ovNode, name string, n *ovNode) {
		parent = root
		if p == "/" {
			return nil, "", root
		}
		rest := p[1:]
		for {
			part, more, found := strings.Cut(rest, "/")
			if !found {
				return parent, part, parent.children[part]
			}
			c := parent.children[part]
			if c == nil {
				return nil, "", nil
			}
			parent, rest = c, more
		}
	}

	for pos, entries := range layers {
		// Whiteouts first, against the lower layers only.
		for _, e := range entries {
			switch e.Type {
			case TypeWhiteout:
				out = append(out, Hidden{ID: e.ID, By: pos, How: HiddenMarker})
				parent, name, n := lookup(e.Path)
				if n == nil || parent == nil {
					continue // nothing to delete (or "/"): an orphan whiteout
				}
				hideTree(n, pos, HiddenDeleted, true)
				delete(parent.children, name)
			case TypeOpaque:
				out = append(out, Hidden{ID: e.ID, By: pos, How: HiddenMarker})
				if _, _, n := lookup(e.Path); n != nil {
					hideTree(n, pos, HiddenOpaque, false)
					n.children = nil
				}
			}
		}
		for _, e := range entries {
			if e.Type == TypeWhiteout || e.Type == TypeOpaque {
				continue
			}
			n := place(root, e.Path, pos, &out)
			if n.id != 0 {
				out = append(out, Hidden{ID: n.id, By: pos, How: HiddenOverwritten})
			}
			if e.Type != TypeDir {
				hideTree(n, pos, HiddenOverwritten, false)
				n.children = nil
			}
			n.id, n.typ = e.ID, e.Type
		}
	}
	return out
}

// place finds or creates the node for path p, making its ancestors
// directories: an ancestor that is a lower non-directory (other than a
// symlink) is hidden as overwritten by layer pos.
func place(root *ovNode, p string, pos int, out *[]Hidden) *ovNode {
	n := root
	if p == "/" {
		return n
	}
	rest := p[1:]
	for {
		part, more, notLast := strings.Cut(rest, "/")
		if n.children == nil {
			n.children = map[string]*ovNode{}
		}
		c := n.children[part]
		if c == nil {
			c = &ovNode{typ: TypeDir}
			n.children[part] = c
		} else if notLast && c.typ != TypeDir && c.typ != TypeSymlink {
			*out = append(*out, Hidden{ID: c.id, By: pos, How: HiddenOverwritten})
			c.id, c.typ = 0, TypeDir
		}
		n = c
		if !notLast {
			return n
		}
		rest = more
	}
}
