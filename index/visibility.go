package index

import "github.com/auditor-dev/auditor/overlay"

// visibilityOut receives what the visibility computation finds.
type visibilityOut interface {
	add(overlay.Hidden) error
	addMoved(overlay.Moved) error
	addInode(overlay.Inode) error
}

// visibilityLists collects what the visibility computation finds.
type visibilityLists struct {
	hidden []overlay.Hidden
	moved  []overlay.Moved
	inodes []overlay.Inode
}

func (v *visibilityLists) add(h overlay.Hidden) error     { v.hidden = append(v.hidden, h); return nil }
func (v *visibilityLists) addMoved(m overlay.Moved) error { v.moved = append(v.moved, m); return nil }
func (v *visibilityLists) addInode(i overlay.Inode) error { v.inodes = append(v.inodes, i); return nil }
