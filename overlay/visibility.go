package overlay

import (
	"cmp"
	"slices"
)

// Visibility is what the computation finds for one image, each list
// sorted by layer position and entry id (NewVisibility), so that two
// computations (or a computation and what a store holds) compare with
// Equal.
type Visibility struct {
	Hidden []Hidden
	Moved  []Moved
	Inodes []Inode
}

// NewVisibility returns the lists, each sorted by layer position and entry
// id; it sorts them in place.
func NewVisibility(hidden []Hidden, moved []Moved, inodes []Inode) Visibility {
	slices.SortFunc(hidden, func(a, b Hidden) int { return cmp.Or(cmp.Compare(a.Pos, b.Pos), cmp.Compare(a.ID, b.ID)) })
	slices.SortFunc(moved, func(a, b Moved) int { return cmp.Or(cmp.Compare(a.Pos, b.Pos), cmp.Compare(a.ID, b.ID)) })
	slices.SortFunc(inodes, func(a, b Inode) int { return cmp.Or(cmp.Compare(a.Pos, b.Pos), cmp.Compare(a.ID, b.ID)) })
	return Visibility{hidden, moved, inodes}
}

// Equal reports whether v and w are the same.
func (v Visibility) Equal(w Visibility) bool {
	return slices.Equal(v.Hidden, w.Hidden) && slices.Equal(v.Moved, w.Moved) && slices.Equal(v.Inodes, w.Inodes)
}
