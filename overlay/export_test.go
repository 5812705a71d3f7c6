package overlay

// UndoLen returns the length of the tree's undo log (for tests).
func (t *Tree) UndoLen() int { return len(t.undo) }
