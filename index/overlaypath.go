package index

import (
	"bytes"
	"cmp"
	"slices"
	"sort"
)

// This file computes what Overlay computes, in bounded memory: instead of
// building an image's whole tree, it reads the image's entries sorted by
// pathKey, so that a directory's subtree comes right after it, and keeps
// only the paths on the way from the root to the current one.
//
// It rests on what Overlay does to an entry e placed at path A at time t
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

// pathKey returns the sort key of a path: its bytes with '/' as 0x00, the
// smallest byte, so that every path under a directory sorts right after it
// and before any sibling that merely shares its prefix ("/a/b", "/a/b/c",
// "/a/b-x"). Bytes 0x00 and 0x01, which tar names cannot hold anyway, are
// escaped as 0x01 0x01 and 0x01 0x02, so that the order of other paths is
// the byte order and 0x00 only ever separates components.
func pathKey(p string) []byte {
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

// rootKey is pathKey("/").
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
// sort key of its path (pathKey), the position of its layer in the image,
// its id and type.
type pathEntry struct {
	key  []byte
	pos  int
	id   int64
	typ  EntryType
	when ovTime
}

// ovTime orders the events of Overlay: by layer position, then markers
// before other entries, then tar order (entry ids grow in tar order).
type ovTime struct {
	pos   int
	phase uint8 // 0 for whiteouts and opaque markers, 1 for other entries
	id    int64
}

func timeOf(pos int, id int64, typ EntryType) ovTime {
	if typ == TypeWhiteout || typ == TypeOpaque {
		return ovTime{pos, 0, id}
	}
	return ovTime{pos, 1, id}
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

// ovEvent is something that happened at a path and hides what lies beneath
// it: a whiteout, an opaque marker or a non-directory placed there.
type ovEvent struct {
	at  ovTime
	how HiddenHow
}

// ovFate is what becomes of one entry at a frame's path.
type ovFate struct {
	id      int64
	placed  ovTime    // when it was placed (for markers, when they apply)
	end     ovTime    // when an event at its path or above hid it,
	how     HiddenHow // and how,
	hidden  bool      // if any did
	conv    bool      // a lower non-directory a later entry beneath turns into a directory
	convAt  ovTime    // the first such entry beneath, while it was in place,
	reached bool      // if any
}

// ovFrame holds, for a path on the way from the root to the current one,
// its entries' fates and the events that hide its subtree.
type ovFrame struct {
	key   []byte
	fates []ovFate
	below []ovEvent // events hiding the subtree, in time order
	live  []int     // indexes in fates of the conv entries, in time order
}

// firstAfter returns the first event of f.below after t.
func (f *ovFrame) firstAfter(t ovTime) (ovEvent, bool) {
	i := sort.Search(len(f.below), func(i int) bool { return f.below[i].at.cmp(t) > 0 })
	if i == len(f.below) {
		return ovEvent{}, false
	}
	return f.below[i], true
}

// placedBeneath records that an entry was placed beneath f's path at t: the
// non-directory at f's path in place at t, if any, becomes a directory.
func (f *ovFrame) placedBeneath(t ovTime) {
	i := sort.Search(len(f.live), func(i int) bool { return f.fates[f.live[i]].placed.cmp(t) > 0 }) - 1
	if i < 0 {
		return
	}
	x := &f.fates[f.live[i]]
	if x.hidden && x.end.cmp(t) < 0 {
		return // already gone at t
	}
	if !x.reached || t.cmp(x.convAt) < 0 {
		x.convAt, x.reached = t, true
	}
}

// pathOverlay runs the path-order visibility computation: feed it an
// image's entries with add, grouped by key in key order (the order of
// entries with the same key does not matter), then call finish. emit
// receives every hidden entry once, as Overlay would report it (an entry
// id that the image holds twice, through a layer it lists twice, is
// reported for its first hiding only, which is what the hidden table keeps).
type pathOverlay struct {
	emit  func(Hidden) error
	stack []*ovFrame
	group []pathEntry
	free  []*ovFrame // popped frames, for reuse
}

func newPathOverlay(emit func(Hidden) error) *pathOverlay {
	return &pathOverlay{emit: emit}
}

func (o *pathOverlay) add(e pathEntry) error {
	if len(o.group) > 0 && !bytes.Equal(o.group[0].key, e.key) {
		if err := o.flushGroup(); err != nil {
			return err
		}
	}
	e.when = timeOf(e.pos, e.id, e.typ)
	o.group = append(o.group, e)
	return nil
}

func (o *pathOverlay) finish() error {
	if err := o.flushGroup(); err != nil {
		return err
	}
	for len(o.stack) > 0 {
		if err := o.pop(); err != nil {
			return err
		}
	}
	return nil
}

// flushGroup handles the entries at one path: it closes the frames of the
// paths that are not its ancestors, computes what the ancestors' events do
// to its entries and what its entries do to the ancestors', and pushes its
// frame.
func (o *pathOverlay) flushGroup() error {
	g := o.group
	if len(g) == 0 {
		return nil
	}
	key := g[0].key
	for len(o.stack) > 0 && !isAncestorKey(o.stack[len(o.stack)-1].key, key) {
		if err := o.pop(); err != nil {
			return err
		}
	}
	slices.SortFunc(g, func(a, b pathEntry) int { return a.when.cmp(b.when) })
	root := bytes.Equal(key, rootKey)

	f := o.newFrame(key)
	for _, e := range g {
		if e.typ == TypeWhiteout || e.typ == TypeOpaque {
			f.fates = append(f.fates, ovFate{id: e.id, placed: e.when, end: e.when, how: HiddenMarker, hidden: true})
			switch {
			case e.typ == TypeOpaque:
				f.below = append(f.below, ovEvent{e.when, HiddenOpaque})
			case !root: // a whiteout of "/" deletes nothing
				f.below = append(f.below, ovEvent{e.when, HiddenDeleted})
			}
			continue
		}
		for _, a := range o.stack {
			a.placedBeneath(e.when)
		}
		f.fates = append(f.fates, ovFate{id: e.id, placed: e.when, conv: !root && e.typ != TypeDir && e.typ != TypeSymlink})
		if e.typ != TypeDir {
			f.below = append(f.below, ovEvent{e.when, HiddenOverwritten})
		}
	}
	// The next entry or whiteout at the same path hides an entry.
	var next ovEvent
	haveNext := false
	for i := len(g) - 1; i >= 0; i-- {
		x := &f.fates[i]
		if !x.hidden && haveNext {
			x.end, x.how, x.hidden = next.at, next.how, true
		}
		switch {
		case g[i].typ == TypeOpaque:
		case g[i].typ == TypeWhiteout:
			if !root {
				next, haveNext = ovEvent{g[i].when, HiddenDeleted}, true
			}
		default:
			next, haveNext = ovEvent{g[i].when, HiddenOverwritten}, true
		}
	}
	// So does the first event above it after it was placed.
	for i := range f.fates {
		x := &f.fates[i]
		if x.how == HiddenMarker {
			continue
		}
		for _, a := range o.stack {
			if ev, ok := a.firstAfter(x.placed); ok && (!x.hidden || ev.at.cmp(x.end) < 0) {
				x.end, x.how, x.hidden = ev.at, ev.how, true
			}
		}
		if x.conv {
			f.live = append(f.live, i)
		}
	}
	o.stack = append(o.stack, f)
	o.group = o.group[:0]
	return nil
}

func (o *pathOverlay) newFrame(key []byte) *ovFrame {
	if n := len(o.free); n > 0 {
		f := o.free[n-1]
		o.free = o.free[:n-1]
		f.key, f.fates, f.below, f.live = key, f.fates[:0], f.below[:0], f.live[:0]
		return f
	}
	return &ovFrame{key: key}
}

// pop closes the top frame, whose subtree has been seen whole, and emits
// its hidden entries.
func (o *pathOverlay) pop() error {
	f := o.stack[len(o.stack)-1]
	o.stack = o.stack[:len(o.stack)-1]
	for i := range f.fates {
		x := &f.fates[i]
		if x.reached && (!x.hidden || x.convAt.cmp(x.end) < 0) {
			x.end, x.how, x.hidden = x.convAt, HiddenOverwritten, true
		}
	}
	fates := f.fates
	if len(fates) > 1 {
		// An id twice (a layer listed twice): keep its first hiding.
		slices.SortFunc(fates, func(a, b ovFate) int {
			if c := cmp.Compare(a.id, b.id); c != 0 {
				return c
			}
			if a.hidden != b.hidden {
				if a.hidden {
					return -1
				}
				return 1
			}
			return a.end.cmp(b.end)
		})
	}
	for i, x := range fates {
		if !x.hidden || (i > 0 && fates[i-1].id == x.id) {
			continue
		}
		if err := o.emit(Hidden{ID: x.id, By: x.end.pos, How: x.how}); err != nil {
			return err
		}
	}
	f.key = nil
	o.free = append(o.free, f)
	return nil
}

// overlayByPath is Overlay computed by the path-order merge, over layers in
// memory; the tests compare the two.
func overlayByPath(layers [][]OverlayEntry) ([]Hidden, error) {
	var all []pathEntry
	for pos, l := range layers {
		for _, e := range l {
			all = append(all, pathEntry{key: pathKey(e.Path), pos: pos, id: e.ID, typ: e.Type})
		}
	}
	slices.SortStableFunc(all, func(a, b pathEntry) int { return bytes.Compare(a.key, b.key) })
	var out []Hidden
	o := newPathOverlay(func(h Hidden) error { out = append(out, h); return nil })
	for _, e := range all {
		if err := o.add(e); err != nil {
			return nil, err
		}
	}
	return out, o.finish()
}
