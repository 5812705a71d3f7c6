// Package overlay computes an image's merged (visible) filesystem from its
// layers' entries, the way a container runtime lays them, without touching
// a disk: which entries the image hides (and why), which land elsewhere
// than their tar path through symlinked directories, and which file each
// hardlink links. Every index back end uses it; it reads no store.
//
// Two computations give the same answer: Compute (and Tree, which can be
// rolled back to share the layers images have in common) holds the whole
// tree in memory; Sorted reads the entries in PathKey order and keeps only
// the paths from the root to the current one, for images too large to
// hold (the store sorts, in SQL or otherwise).
package overlay
