package overlay

import (
	"path"
	"slices"
	"strings"

	"github.com/auditor-dev/auditor"
)

// HiddenHow says why an image does not show a layer entry.
type HiddenHow uint8

// Reasons an entry is hidden, as stored (image_files.hidden_how shows names).
const (
	HiddenDeleted     HiddenHow = 1 // a whiteout in a later layer deleted it
	HiddenOpaque      HiddenHow = 2 // a later layer made a parent directory opaque
	HiddenOverwritten HiddenHow = 3 // a later entry at the same path, or one that needs the path as a directory, replaced it
	HiddenMarker      HiddenHow = 4 // it is itself a whiteout or opaque marker
)

// Entry is what the visibility computation needs of a layer entry.
type Entry struct {
	ID   int64
	Path string
	Type auditor.EntryType
	Link string // a symlink's target or a hardlink's linkname; "" for other types
}

// Inode records that the hardlink ID of the layer at position Pos links the
// file of entry Target (of the layer at TargetPos), which is not a
// hardlink: on disk it has that entry's content, mode, owner and type.
type Inode struct {
	ID        int64
	Pos       int
	Target    int64
	TargetPos int
}

// Moved records that entry ID of the layer at position Pos lands at Path,
// not at the path its tar names, because a parent directory of that path
// is a symlink when the layer is laid (for a whiteout, Path is what it
// deletes; for an opaque marker, the directory it makes opaque).
type Moved struct {
	ID   int64
	Pos  int
	Path string
	Type auditor.EntryType // the entry's
}

// maxLinkHops bounds the symlinks one path resolution follows, as Linux's
// path lookup does (40); a path needing more (a link loop) is taken as the
// tar names it.
const maxLinkHops = 40

// Hidden records that an image hides entry ID of its layer at position
// Pos; the layer at position By (0 is the bottom layer) hid it. A layer an
// image lists twice has its entries at both positions, each hidden or not
// on its own.
type Hidden struct {
	ID  int64
	Pos int
	By  int
	How HiddenHow
}

type ovNode struct {
	id       int64             // the entry now at this path; 0 for a directory no layer has an entry for
	pos      int32             // the position of its layer
	typ      auditor.EntryType // of that entry; TypeDir when id is 0
	link     string            // a symlink's target
	children map[string]*ovNode
}

// Compute applies layers (bottom first, each in tar order) the way a
// container runtime builds an image's root filesystem, and returns every
// entry the final filesystem does not show, with the layer that hid it:
//   - whiteouts and opaque markers of a layer apply to lower layers only,
//     before the layer's other entries (as the OCI image spec requires);
//   - a later entry at the same path hides the earlier one (also within one
//     layer); a non-directory replacing a directory hides all beneath it,
//     a directory over a directory keeps the lower contents;
//   - an entry whose parent is a regular file (or other non-directory that is
//     not a symlink) in a lower layer hides that file, which becomes a
//     directory (extraction would fail there; the spec leaves it open);
//   - each entry lands where extraction writes it: its parent directories
//     resolve through the symlinks the tree has when it is laid (resolve),
//     inside the image root; a whiteout deletes, and an opaque marker
//     empties, what the name resolves to. The entries that land elsewhere
//     than their tar path are the tree's moved list;
//   - a hardlink links the file in place at its linkname when it is laid
//     (through a chain of hardlinks, the first file): on disk it is that
//     file's inode, with its content, mode, owner and type (Inode).
//
// Entries never hidden are visible. Compute trusts nothing about the input
// beyond Path being absolute and clean.
func Compute(layers [][]Entry) ([]Hidden, []Moved, []Inode) {
	t := NewTree()
	for pos, entries := range layers {
		t.Apply(pos, entries)
	}
	return t.out, t.moved, t.inodes
}

// Tree is the filesystem tree Compute builds, layer by layer, and
// the entries hidden so far. After Mark, every change is logged, and
// Rollback undoes the changes since a mark: a tree built for the layers
// images share can then be reused for each image's own top layer.
type Tree struct {
	root    *ovNode
	out     []Hidden
	moved   []Moved             // entries that land elsewhere than their tar path
	inodes  []Inode             // hardlinks and the files they link
	inodeOf map[entryAt]entryAt // inodes, by hardlink: for chains
	// linkedVia: the paths hardlinks linked through a symlinked directory
	// (where their linkname resolved to), for LinkSubset.
	linkedVia []string
	entries   int // applied for good (not since a mark)
	charge    int // what they cost the tree (TreeCharge)
	logging   bool
	undo      []ovUndo
}

// ovUndo is one logged change to an Tree, with what it replaced.
type ovUndo struct {
	n     *ovNode
	op    ovOp
	name  string             // ovAdd, ovDel: the child's name
	child *ovNode            // ovDel: the child removed
	m     map[string]*ovNode // ovChildren: the map replaced
	id    int64              // ovSet: the id replaced
	pos   int32              // ovSet: the position replaced
	typ   auditor.EntryType  // ovSet: the type replaced
	link  string             // ovSet: the link replaced
}

type ovOp uint8

const (
	ovAdd      ovOp = iota // a child was added
	ovDel                  // a child was removed
	ovChildren             // the children map was replaced
	ovSet                  // id and type were changed
)

// overlayMark is a point to roll an Tree back to.
type Mark struct{ undo, out, moved, inodes, linkedVia int }

func NewTree() *Tree {
	return &Tree{root: &ovNode{typ: auditor.TypeDir}}
}

// Mark starts logging changes and returns the current state, for rollback.
func (t *Tree) Mark() Mark {
	t.logging = true
	return Mark{len(t.undo), len(t.out), len(t.moved), len(t.inodes), len(t.linkedVia)}
}

// Rollback undoes every change since m and stops logging.
func (t *Tree) Rollback(m Mark) {
	for i := len(t.undo) - 1; i >= m.undo; i-- {
		u := &t.undo[i]
		switch u.op {
		case ovAdd:
			delete(u.n.children, u.name)
		case ovDel:
			u.n.children[u.name] = u.child
		case ovChildren:
			u.n.children = u.m
		case ovSet:
			u.n.id, u.n.pos, u.n.typ, u.n.link = u.id, u.pos, u.typ, u.link
		}
		*u = ovUndo{}
	}
	t.undo = t.undo[:m.undo]
	t.out = t.out[:m.out]
	t.moved = t.moved[:m.moved]
	for _, in := range t.inodes[m.inodes:] {
		delete(t.inodeOf, entryAt{in.Pos, in.ID})
	}
	t.inodes = t.inodes[:m.inodes]
	t.linkedVia = t.linkedVia[:m.linkedVia]
	t.logging = false
	// A kept tree keeps no more than it needs: what a big top layer grew
	// goes.
	if cap(t.undo) > 1<<12 {
		t.undo = nil
	}
	if cap(t.out) > 2*len(t.out)+1<<12 {
		t.out = slices.Clone(t.out)
	}
}

func (t *Tree) addChild(n *ovNode, name string, c *ovNode) {
	if n.children == nil {
		t.setChildren(n, map[string]*ovNode{})
	}
	if t.logging {
		t.undo = append(t.undo, ovUndo{n: n, op: ovAdd, name: name})
	}
	n.children[name] = c
}

func (t *Tree) delChild(n *ovNode, name string) {
	if t.logging {
		t.undo = append(t.undo, ovUndo{n: n, op: ovDel, name: name, child: n.children[name]})
	}
	delete(n.children, name)
}

func (t *Tree) setChildren(n *ovNode, m map[string]*ovNode) {
	if t.logging {
		t.undo = append(t.undo, ovUndo{n: n, op: ovChildren, m: n.children})
	}
	n.children = m
}

func (t *Tree) set(n *ovNode, id int64, pos int, typ auditor.EntryType, link string) {
	if t.logging {
		t.undo = append(t.undo, ovUndo{n: n, op: ovSet, id: n.id, pos: n.pos, typ: n.typ, link: n.link})
	}
	n.id, n.pos, n.typ, n.link = id, int32(pos), typ, link
}

// hide records that layer by hides the entry at n, if any.
func (t *Tree) hide(n *ovNode, by int, how HiddenHow) {
	if n.id != 0 {
		t.out = append(t.out, Hidden{ID: n.id, Pos: int(n.pos), By: by, How: how})
	}
}

// hideTree records n (if self) and everything beneath it as hidden by
// layer by.
func (t *Tree) hideTree(n *ovNode, by int, how HiddenHow, self bool) {
	if self {
		t.hide(n, by, how)
	}
	for _, c := range n.children {
		t.hideTree(c, by, how, true)
	}
}

// lookup finds the node at p and its parent; n is nil if there is none.
func (t *Tree) lookup(p string) (parent *ovNode, name string, n *ovNode) {
	parent = t.root
	if p == "/" {
		return nil, "", t.root
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

// Apply lays the entries of the layer at position pos over the tree.
func (t *Tree) Apply(pos int, entries []Entry) {
	if !t.logging {
		t.entries += len(entries)
		t.charge += TreeCharge(entries)
	}
	// Whiteouts first, against the lower layers only, through the links
	// the lower layers left.
	for _, e := range entries {
		switch e.Type {
		case auditor.TypeWhiteout:
			t.out = append(t.out, Hidden{ID: e.ID, Pos: pos, By: pos, How: HiddenMarker})
			parent, name, n := t.lookup(t.landing(e, pos, false))
			if n == nil || parent == nil {
				continue // nothing to delete (or "/"): an orphan whiteout
			}
			t.hideTree(n, pos, HiddenDeleted, true)
			t.delChild(parent, name)
		case auditor.TypeOpaque:
			t.out = append(t.out, Hidden{ID: e.ID, Pos: pos, By: pos, How: HiddenMarker})
			// The marker is an entry inside the directory: a link to one
			// makes its target opaque.
			if _, _, n := t.lookup(t.landing(e, pos, true)); n != nil {
				t.hideTree(n, pos, HiddenOpaque, false)
				t.setChildren(n, nil)
			}
		}
	}
	for _, e := range entries {
		if e.Type == auditor.TypeWhiteout || e.Type == auditor.TypeOpaque {
			continue
		}
		if e.Type == auditor.TypeHardlink {
			t.link(e, pos)
		}
		n := t.place(t.landing(e, pos, false), pos)
		t.hide(n, pos, HiddenOverwritten)
		if e.Type != auditor.TypeDir {
			t.hideTree(n, pos, HiddenOverwritten, false)
			if n.children != nil {
				t.setChildren(n, nil)
			}
		}
		t.set(n, e.ID, pos, e.Type, e.Link)
	}
}

// link records the file hardlink e of layer pos links: the entry at its
// linkname (resolved as a path is, but a final symlink is linked, not
// followed) when it is laid, or the file that entry links. A link to
// nothing, or to a directory, which extraction refuses, links nothing.
func (t *Tree) link(e Entry, pos int) {
	name := path.Clean("/" + e.Link)
	at := t.resolve(name, false)
	if at != name {
		t.linkedVia = append(t.linkedVia, at)
	}
	_, _, n := t.lookup(at)
	if n == nil || n.id == 0 || n.typ == auditor.TypeDir {
		return
	}
	target := entryAt{int(n.pos), n.id}
	if n.typ == auditor.TypeHardlink {
		var ok bool
		if target, ok = t.inodeOf[target]; !ok {
			return
		}
	}
	if t.inodeOf == nil {
		t.inodeOf = map[entryAt]entryAt{}
	}
	t.inodeOf[entryAt{pos, e.ID}] = target
	t.inodes = append(t.inodes, Inode{ID: e.ID, Pos: pos, Target: target.id, TargetPos: target.pos})
}

// landing returns the path entry e of layer pos lands at, its tar path
// resolved (resolve), and records it if it differs.
func (t *Tree) landing(e Entry, pos int, last bool) string {
	p := t.resolve(e.Path, last)
	if p != e.Path {
		t.moved = append(t.moved, Moved{ID: e.ID, Pos: pos, Path: p, Type: e.Type})
	}
	return p
}

// resolve returns the path p (absolute, clean) names in the tree: each
// parent directory that is a symlink is replaced by its target (and, with
// last, the final component too), relative to the directory holding the
// link or, for an absolute target, to the image root; ".." never climbs
// above the root. This is how extraction resolves names inside a root
// (filepath-securejoin, containerd's fs.RootPath), over the tree instead of
// a disk. A resolution needing more than maxLinkHops links returns p (as
// does one through an empty link, which extraction cannot create).
func (t *Tree) resolve(p string, last bool) string {
	if p == "/" {
		return p
	}
	// The common case first, without allocating: no link on the way.
	n, rest := t.root, p[1:]
	for {
		part, more, notLast := strings.Cut(rest, "/")
		c := n.children[part]
		switch {
		case c == nil:
			return p // nothing beneath: no link either
		case c.typ == auditor.TypeSymlink && c.link != "" && (notLast || last):
			return t.resolveLinks(p, last)
		case !notLast:
			return p
		}
		n, rest = c, more
	}
}

// resolveLinks is resolve's general case.
func (t *Tree) resolveLinks(p string, last bool) string {
	todo := strings.Split(p[1:], "/") // the components left, in order
	var done []string                 // the components resolved
	var nodes []*ovNode               // nodes[i]: the node at done[:i+1], nil if none
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done, nodes = done[:len(done)-1], nodes[:len(nodes)-1]
			}
			continue
		}
		parent := t.root
		if len(nodes) > 0 {
			parent = nodes[len(nodes)-1]
		}
		var n *ovNode
		if parent != nil {
			n = parent.children[c]
		}
		if n != nil && n.typ == auditor.TypeSymlink && n.link != "" && (last || hasComponent(todo)) {
			if hops++; hops > maxLinkHops {
				return p
			}
			if strings.HasPrefix(n.link, "/") {
				done, nodes = done[:0], nodes[:0]
			}
			todo = append(strings.Split(n.link, "/"), todo...)
			continue
		}
		done, nodes = append(done, c), append(nodes, n)
	}
	return "/" + strings.Join(done, "/")
}

// hasComponent reports whether parts name anything beyond the directory
// they start from ("" and "." do not).
func hasComponent(parts []string) bool {
	for _, c := range parts {
		if c != "" && c != "." {
			return true
		}
	}
	return false
}

// place finds or creates the node for path p, making its ancestors
// directories: an ancestor that is a lower non-directory (other than a
// symlink) is hidden as overwritten by layer pos.
func (t *Tree) place(p string, pos int) *ovNode {
	n := t.root
	if p == "/" {
		return n
	}
	rest := p[1:]
	for {
		part, more, notLast := strings.Cut(rest, "/")
		c := n.children[part]
		if c == nil {
			c = &ovNode{typ: auditor.TypeDir}
			t.addChild(n, part, c)
		} else if notLast && c.typ != auditor.TypeDir && c.typ != auditor.TypeSymlink {
			t.hide(c, pos, HiddenOverwritten)
			t.set(c, 0, 0, auditor.TypeDir, "")
		}
		n = c
		if !notLast {
			return n
		}
		rest = more
	}
}

// Result returns what the tree hid, moved and linked so far, in the order
// it found them (the slices are the tree's: read them before the next
// Apply or Rollback).
func (t *Tree) Result() ([]Hidden, []Moved, []Inode) { return t.out, t.moved, t.inodes }

// Entries returns how many entries were applied for good (before Mark).
func (t *Tree) Entries() int { return t.entries }

// Charge returns what those entries cost the tree, as TreeCharge counts.
func (t *Tree) Charge() int { return t.charge }
