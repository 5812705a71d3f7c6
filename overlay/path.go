package overlay

import (
	"bytes"
	"cmp"
	"path"
	"slices"
	"sort"

	"github.com/auditor-dev/auditor"
)

// This file computes what Compute computes, in bounded memory: instead of
// building an image's whole tree, it reads the image's entries sorted by
// PathKey, so that a directory's subtree comes right after it, and keeps
// only the paths on the way from the root to the current one.
//
// It rests on what Compute does to an entry e placed at path A at time t
// (a time is (layer position, phase, entry id): a layer's whiteout and
// opaque markers come first, in tar order, then its other entries): e stays
// in the tree until the first of these events after t hides it, and nothing
// else touches it:
//   - a whiteout at A or at an ancestor of A (not "/"): deleted;
//   - an opaque marker at a strict ancestor: opaque;
//   - an entry placed at A (any type), or a non-directory (symlinks too)
//     placed at a strict ancestor: overwritten;
//   - if e is neither a directory nor a symlink and A is not "/": an entry
//     placed anywhere beneath A, which turns A into a directory: overwritten.
//
// The first three involve only A and its ancestors; the last involves only
// A's subtree, which the path order delivers before leaving A. Markers are
// hidden as markers by their own layer.
//
// Memory: 24 bytes for each entry at the paths on the way from the root to
// the current one (a handful, in real images), whatever the image's size;
// SQLite's sorter spills what it sorts to temporary files.

// PathKey returns the sort key of a path: its bytes with '/' as 0x00, the
// smallest byte, so that every path under a directory sorts right after it
// and before any sibling that merely shares its prefix ("/a/b", "/a/b/c",
// "/a/b-x"). Bytes 0x00 (which tar names cannot hold anyway) and 0x01 are
// escaped as 0x01 0x01 and 0x01 0x02, so that the order of other paths is
// the byte order and 0x00 only ever separates components.
func PathKey(p string) []byte {
	k := make([]byte, 0, len(p)+2)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '/':
			k = append(k, 0)
		case 0, 1:
			k = append(k, 1, c+1)
		default:
			k = append(k, c)
		}
	}
	return k
}

// rootKey is PathKey("/").
var rootKey = []byte{0}

// isAncestorKey reports whether the path of key a is a strict ancestor of
// the path of key b.
func isAncestorKey(a, b []byte) bool {
	if bytes.Equal(a, rootKey) {
		return len(b) > 1 && b[0] == 0
	}
	return len(b) > len(a) && b[len(a)] == 0 && bytes.Equal(a, b[:len(a)])
}

// pathEntry is an entry of an image as the path-order merge reads it: the
// sort key of its path (PathKey), the position of its layer in the image,
// its id and type.
type pathEntry struct {
	key []byte
	pos int
	id  int64
	typ auditor.EntryType
}

// ovEnt is an entry at a frame's path, in 16 bytes: a path may hold
// millions (a hostile layer repeating one name).
type ovEnt struct {
	id  int64
	pos int32
	typ auditor.EntryType
}

func (e ovEnt) marker() bool { return e.typ == auditor.TypeWhiteout || e.typ == auditor.TypeOpaque }

// ovTime orders the events of Compute: by layer position, then markers
// before other entries, then tar order (entry ids grow in tar order).
type ovTime struct {
	pos   int32
	phase uint8 // 0 for whiteouts and opaque markers, 1 for other entries
	id    int64
}

func (e ovEnt) when() ovTime {
	if e.marker() {
		return ovTime{e.pos, 0, e.id}
	}
	return ovTime{e.pos, 1, e.id}
}

func (a ovTime) cmp(b ovTime) int {
	if c := cmp.Compare(a.pos, b.pos); c != 0 {
		return c
	}
	if c := cmp.Compare(a.phase, b.phase); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// ovEvent is something that happened at a path and hid an entry.
type ovEvent struct {
	at  ovTime
	how HiddenHow
}

// ovFrame holds the entries at a path on the way from the root to the
// current one, and what the paths beneath did to them.
type ovFrame struct {
	key  []byte
	root bool
	ents []ovEnt // in time order once pushed
	// nextBelow[i] is the first j >= i whose entry hides the path's
	// subtree (a whiteout, an opaque marker, a non-directory); len(ents)
	// if none.
	nextBelow []int32
	// prevSelf[i] is the last j <= i whose entry hides the one at the path
	// before it (an entry, or a whiteout); -1 if none.
	prevSelf []int32
	// conv maps an entry that a later entry beneath turned into a
	// directory to the first time that happened.
	conv map[int32]ovTime
}

// hidesBelow reports whether e, at a frame's path, hides what lies beneath,
// and how.
func (f *ovFrame) hidesBelow(e ovEnt) (HiddenHow, bool) {
	switch {
	case e.typ == auditor.TypeOpaque:
		return HiddenOpaque, true
	case e.typ == auditor.TypeWhiteout:
		return HiddenDeleted, !f.root // a whiteout of "/" deletes nothing
	case e.typ != auditor.TypeDir:
		return HiddenOverwritten, true
	}
	return 0, false
}

// hidesSelf reports whether e, at a frame's path, hides the entry there
// before it, and how.
func (f *ovFrame) hidesSelf(e ovEnt) (HiddenHow, bool) {
	switch e.typ {
	case auditor.TypeOpaque:
		return 0, false
	case auditor.TypeWhiteout:
		return HiddenDeleted, !f.root
	}
	return HiddenOverwritten, true
}

// after returns the index of the first entry later than t.
func (f *ovFrame) after(t ovTime) int {
	return sort.Search(len(f.ents), func(i int) bool { return f.ents[i].when().cmp(t) > 0 })
}

// firstAfter returns the first event at f's path after t that hides what
// lies beneath.
func (f *ovFrame) firstAfter(t ovTime) (ovEvent, bool) {
	i := f.after(t)
	if i == len(f.ents) {
		return ovEvent{}, false
	}
	j := f.nextBelow[i]
	if int(j) == len(f.ents) {
		return ovEvent{}, false
	}
	how, _ := f.hidesBelow(f.ents[j])
	return ovEvent{f.ents[j].when(), how}, true
}

// pathOverlay runs the path-order visibility computation: feed it an
// image's entries with add, grouped by key in key order (the order of
// entries with the same key does not matter), then call finish. emit
// receives every hidden entry once, as Compute would report it (an entry
// of a layer the image lists twice, once for each position).
type pathOverlay struct {
	emit  func(Hidden) error
	stack []*ovFrame // the ancestors of cur, root first
	cur   *ovFrame   // the entries at the path being read
	free  []*ovFrame // popped frames, for reuse
}

func newPathOverlay(emit func(Hidden) error) *pathOverlay {
	return &pathOverlay{emit: emit}
}

func (o *pathOverlay) add(e pathEntry) error {
	if o.cur != nil && !bytes.Equal(o.cur.key, e.key) {
		if err := o.push(); err != nil {
			return err
		}
	}
	if o.cur == nil {
		o.cur = o.newFrame(e.key)
	}
	o.cur.ents = append(o.cur.ents, ovEnt{id: e.id, pos: int32(e.pos), typ: e.typ})
	return nil
}

func (o *pathOverlay) finish() error {
	if o.cur != nil {
		if err := o.push(); err != nil {
			return err
		}
	}
	for len(o.stack) > 0 {
		if err := o.pop(); err != nil {
			return err
		}
	}
	return nil
}

// push closes the frames of the paths that are not ancestors of the
// current one, records what the current path's entries do to its
// ancestors' (turning a non-directory into a directory), and pushes it.
func (o *pathOverlay) push() error {
	f := o.cur
	o.cur = nil
	for len(o.stack) > 0 && !isAncestorKey(o.stack[len(o.stack)-1].key, f.key) {
		if err := o.pop(); err != nil {
			return err
		}
	}
	slices.SortFunc(f.ents, func(a, b ovEnt) int { return a.when().cmp(b.when()) })
	n := len(f.ents)
	f.nextBelow = slices.Grow(f.nextBelow[:0], n)[:n]
	f.prevSelf = slices.Grow(f.prevSelf[:0], n)[:n]
	next := int32(n)
	for i := n - 1; i >= 0; i-- {
		if _, ok := f.hidesBelow(f.ents[i]); ok {
			next = int32(i)
		}
		f.nextBelow[i] = next
	}
	prev := int32(-1)
	for i, e := range f.ents {
		if _, ok := f.hidesSelf(e); ok {
			prev = int32(i)
		}
		f.prevSelf[i] = prev
		if !e.marker() {
			for _, a := range o.stack {
				o.placedBeneath(a, e.when())
			}
		}
	}
	o.stack = append(o.stack, f)
	return nil
}

// placedBeneath records that an entry was placed beneath a's path at t: the
// non-directory in place at a's path at t, if any, becomes a directory.
func (o *pathOverlay) placedBeneath(a *ovFrame, t ovTime) {
	i := a.after(t) - 1
	if i < 0 {
		return
	}
	j := a.prevSelf[i]
	if j < 0 {
		return
	}
	e := a.ents[j]
	if a.root || e.typ == auditor.TypeWhiteout || e.typ == auditor.TypeDir || e.typ == auditor.TypeSymlink {
		return // nothing there, or nothing that turns into a directory
	}
	if c, ok := a.conv[j]; ok && c.cmp(t) < 0 {
		return
	}
	if _, gone := o.hiddenFromAbove(a, e.when(), t); gone {
		return
	}
	if a.conv == nil {
		a.conv = map[int32]ovTime{}
	}
	a.conv[j] = t
}

// hiddenFromAbove returns the first event at an ancestor of f's path (the
// frames below f on the stack) after placed, if it comes before limit (if
// limit is the zero ovTime, whenever it comes).
func (o *pathOverlay) hiddenFromAbove(f *ovFrame, placed, limit ovTime) (ovEvent, bool) {
	var first ovEvent
	found := false
	for _, a := range o.stack {
		if a == f {
			break
		}
		if ev, ok := a.firstAfter(placed); ok && (!found || ev.at.cmp(first.at) < 0) {
			first, found = ev, true
		}
	}
	if found && limit != (ovTime{}) && first.at.cmp(limit) >= 0 {
		return ovEvent{}, false
	}
	return first, found
}

func (o *pathOverlay) newFrame(key []byte) *ovFrame {
	var f *ovFrame
	if n := len(o.free); n > 0 {
		f = o.free[n-1]
		o.free = o.free[:n-1]
	} else {
		f = &ovFrame{}
	}
	f.key, f.root, f.ents = key, bytes.Equal(key, rootKey), f.ents[:0]
	return f
}

// pop closes the top frame, whose subtree has been seen whole, and emits
// its hidden entries.
func (o *pathOverlay) pop() error {
	f := o.stack[len(o.stack)-1]
	var selfEv ovEvent
	haveSelf := false
	for i := len(f.ents) - 1; i >= 0; i-- {
		e := f.ents[i]
		t := e.when()
		ev, hidden := selfEv, haveSelf
		if e.marker() {
			ev, hidden = ovEvent{t, HiddenMarker}, true
		} else {
			if up, ok := o.hiddenFromAbove(f, t, ovTime{}); ok && (!hidden || up.at.cmp(ev.at) < 0) {
				ev, hidden = up, true
			}
			if c, ok := f.conv[int32(i)]; ok && (!hidden || c.cmp(ev.at) < 0) {
				ev, hidden = ovEvent{c, HiddenOverwritten}, true
			}
		}
		if how, ok := f.hidesSelf(e); ok {
			selfEv, haveSelf = ovEvent{t, how}, true
		}
		if !hidden {
			continue
		}
		if err := o.emit(Hidden{ID: e.id, Pos: int(e.pos), By: int(ev.at.pos), How: ev.how}); err != nil {
			return err
		}
	}
	o.stack = o.stack[:len(o.stack)-1]
	f.key, f.conv = nil, nil
	if cap(f.ents) <= 1<<12 { // keep small frames for reuse, not huge ones
		o.free = append(o.free, f)
	}
	return nil
}

// entryAt names an entry of an image: the position of its layer and its id.
type entryAt struct {
	pos int
	id  int64
}

// LinkSubset computes which entries of an image land elsewhere than their
// tar path, and which file each hardlink links (Compute's moved and inode
// lists), from the few entries that decide them, which load returns: the
// image's entries (by layer position, in tar order) whose path keep
// accepts. Where an entry lands depends only on the image's symlinks, and
// what can delete, replace or empty one: the entries at a symlink's path
// (links: the paths of the image's symlinks) or at one of its ancestors, and
// those beneath it. Which file a hardlink links depends on the same, and on
// the entries at its linkname (targets), its ancestors and beneath it (which
// turn a file into a directory). A symlink or a linkname that itself lands
// elsewhere adds its landing path, and the entries are loaded again.
func LinkSubset(links, targets []string, load func(keep func(string) bool) ([][]Entry, error)) ([]Moved, []Inode, error) {
	at := map[string]bool{}     // paths whose entries, ancestors and descendants count
	linkAt := map[string]bool{} // of those, the symlinks'
	for _, l := range links {
		at[l], linkAt[l] = true, true
	}
	for _, l := range targets {
		at[l] = true
	}
	for {
		above := map[string]bool{}
		for l := range at {
			for d := l; d != "/"; {
				d = path.Dir(d)
				above[d] = true
			}
		}
		keep := func(p string) bool {
			if at[p] || above[p] {
				return true
			}
			for d := p; d != "/"; {
				d = path.Dir(d)
				if at[d] {
					return true
				}
			}
			return false
		}
		layers, err := load(keep)
		if err != nil {
			return nil, nil, err
		}
		t := NewTree()
		for pos, l := range layers {
			t.Apply(pos, l)
		}
		grew := false
		for _, m := range t.moved {
			if m.Type == auditor.TypeSymlink && !linkAt[m.Path] {
				at[m.Path], linkAt[m.Path], grew = true, true, true
			}
		}
		for _, p := range t.linkedVia {
			if !at[p] {
				at[p], grew = true, true
			}
		}
		if !grew {
			return t.moved, t.inodes, nil
		}
	}
}

// movedByKey returns moves as path-order entries at the paths they land
// at, sorted by key, and the set of entries moved.
func movedByKey(moves []Moved) ([]pathEntry, map[entryAt]bool) {
	out := make([]pathEntry, 0, len(moves))
	set := make(map[entryAt]bool, len(moves))
	for _, m := range moves {
		set[entryAt{m.Pos, m.ID}] = true
		out = append(out, pathEntry{key: PathKey(m.Path), pos: m.Pos, id: m.ID, typ: m.Type})
	}
	slices.SortStableFunc(out, func(a, b pathEntry) int { return bytes.Compare(a.key, b.key) })
	return out, set
}

// ByPath is Compute computed by the path-order merge, over layers in
// memory; the tests compare the two.
func ByPath(layers [][]Entry) ([]Hidden, []Moved, []Inode, error) {
	var links, targets []string
	for _, l := range layers {
		for _, e := range l {
			switch e.Type {
			case auditor.TypeSymlink:
				links = append(links, e.Path)
			case auditor.TypeHardlink:
				targets = append(targets, e.Path, path.Clean("/"+e.Link))
			}
		}
	}
	moves, inodes, err := LinkSubset(links, targets, func(keep func(string) bool) ([][]Entry, error) {
		out := make([][]Entry, len(layers))
		for pos, l := range layers {
			for _, e := range l {
				if keep(e.Path) {
					out[pos] = append(out[pos], e)
				}
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	moved, isMoved := movedByKey(moves)
	all := moved
	for pos, l := range layers {
		for _, e := range l {
			if !isMoved[entryAt{pos, e.ID}] {
				all = append(all, pathEntry{key: PathKey(e.Path), pos: pos, id: e.ID, typ: e.Type})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b pathEntry) int { return bytes.Compare(a.key, b.key) })
	var out []Hidden
	o := newPathOverlay(func(h Hidden) error { out = append(out, h); return nil })
	for _, e := range all {
		if err := o.add(e); err != nil {
			return nil, nil, nil, err
		}
	}
	return out, moves, inodes, o.finish()
}

// PathRow is an entry of an image as Sorted reads it: PathKey of its tar
// path, the position of its layer in the image, its id and type.
type PathRow struct {
	Key  []byte
	Pos  int
	ID   int64
	Type auditor.EntryType
}

// Sorted computes the entries an image hides, as Compute does, in memory
// bounded by the depth of its paths rather than their number. moves are the
// image's entries that land elsewhere than their tar path (LinkSubset's);
// next fills in the image's next entry, every one of every layer position,
// in PathKey order of the tar path (the order among equal keys does not
// matter), and reports false after the last. emit receives every hidden
// entry once; an error of next or emit ends the computation and is
// returned. The key next fills in must not be reused.
func Sorted(moves []Moved, next func(*PathRow) (bool, error), emit func(Hidden) error) error {
	moved, isMoved := movedByKey(moves)
	o := newPathOverlay(emit)
	for {
		var r PathRow
		ok, err := next(&r)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if isMoved[entryAt{r.Pos, r.ID}] {
			continue
		}
		// The moved entries, merged in at the paths they land at.
		for len(moved) > 0 && bytes.Compare(moved[0].key, r.Key) <= 0 {
			if err := o.add(moved[0]); err != nil {
				return err
			}
			moved = moved[1:]
		}
		if err := o.add(pathEntry{key: r.Key, pos: r.Pos, id: r.ID, typ: r.Type}); err != nil {
			return err
		}
	}
	for _, e := range moved {
		if err := o.add(e); err != nil {
			return err
		}
	}
	return o.finish()
}
