package overlay

// nodeBytes is what an overlay tree costs per entry applied, beyond
// the entry's path: 70, and 24 since nodes keep their entry's layer
// position and link target (BenchmarkOverlay/image: 3.11 -> 4.01 MB for
// 37,150 entries).
const nodeBytes = 94

// TreeCharge is what entries applied to an overlay tree cost it.
func TreeCharge(entries []Entry) int { return EntriesCharge(entries, nodeBytes) }

// EntriesCharge is what entries cost a cache that keeps them, or keeps
// perEntry bytes of its own for each (the nodes of an overlay tree): their
// structs and their paths' and link targets' bytes, so that long names
// count as they weigh.
func EntriesCharge(entries []Entry, perEntry int) int {
	n := len(entries) * perEntry
	for _, e := range entries {
		n += len(e.Path) + len(e.Link)
	}
	return n
}
