package queries

import (
	"context"
	"database/sql"
	"fmt"
	"path"
	"sort"
)

// Entry is one layer entry of an image, with its visibility there.
type Entry struct {
	Layer        int64
	LayerDigest  string
	Seq          int64 // its place in the layer's tar
	Path, Type   string
	Mode         int64
	UID, GID     int64
	Uname, Gname string
	Size         int64
	MTime        sql.Null[int64]
	SHA256       sql.Null[string]
	Linkname     sql.Null[string]
	Kind         sql.Null[string]
	Capabilities sql.Null[string]
	Visible      bool
	HiddenBy     sql.Null[int64]
	HiddenHow    sql.Null[string]
	// Package names the packages owning a visible entry (image_files.package;
	// NULL when none does).
	Package sql.Null[string]
}

// marker reports whether e is a whiteout or opaque marker, not a file.
func (e *Entry) marker() bool { return e.Type == "whiteout" || e.Type == "opaque" }

// CleanPath makes a user's path argument absolute and clean.
func CleanPath(p string) string { return path.Clean("/" + p) }

// Entries returns the entries of im at or under dir ("/" for all), sorted
// by path, layer and tar order; visibleOnly keeps what the final
// filesystem shows.
func Entries(ctx context.Context, db Querier, im *Image, dir string, visibleOnly bool) ([]Entry, error) {
	dir = CleanPath(dir)
	rows, err := db.QueryContext(ctx, query("image_entries"), im.Digest, im.Registry, im.Repository, dir, visibleOnly)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", im.Name(), err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.Layer, &e.LayerDigest, &e.Seq, &e.Path, &e.Type, &e.Mode, &e.UID, &e.GID,
			&e.Uname, &e.Gname, &e.Size, &e.MTime, &e.SHA256, &e.Linkname, &e.Kind, &e.Capabilities,
			&e.Visible, &e.HiddenBy, &e.HiddenHow, &e.Package); err != nil {
			return nil, fmt.Errorf("image %s: %w", im.Name(), err)
		}
		out = append(out, e)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("image %s: %w", im.Name(), err)
	}
	return out, nil
}

// Change kinds of a layer.
const (
	Added    = "added"
	Modified = "modified"
	Deleted  = "deleted"
)

// Change is what one layer did to one path.
type Change struct {
	Kind  string // Added, Modified or Deleted
	Entry Entry  // the layer's entry; for Deleted, the entry it removed
	Prior *Entry // for Modified, the entry it replaced
}

// LayerChanges works out, from an image's entries (as Entries returns
// them, all layers, visible or not), what each layer changed the way
// Dive shows it: entries at paths no lower layer left in place are added,
// the others modified (a directory repeated with the same mode and owner
// is no change); what the layer's whiteouts, opaque directories or type
// changes remove is deleted. The result is keyed by layer position, each
// list sorted by path.
func LayerChanges(entries []Entry) map[int64][]Change {
	out := map[int64][]Change{}
	byPath := map[string][]int{}
	var paths []string
	for i := range entries {
		p := entries[i].Path
		if _, ok := byPath[p]; !ok {
			paths = append(paths, p)
		}
		byPath[p] = append(byPath[p], i)
	}
	sort.Strings(paths)
	for _, p := range paths {
		idx := byPath[p]
		deletedAt := map[int64]bool{}
		for _, i := range idx {
			e := entries[i]
			if e.marker() {
				continue
			}
			// Removed by a layer that does not put anything at the path.
			if e.HiddenBy.Valid && e.HiddenHow.Valid && e.HiddenBy.V != e.Layer {
				by := e.HiddenBy.V
				if !hasEntryAt(entries, idx, by) && !deletedAt[by] {
					deletedAt[by] = true
					out[by] = append(out[by], Change{Kind: Deleted, Entry: e})
				}
			}
			// Superseded later in its own layer: the later entry counts.
			if e.HiddenBy.Valid && e.HiddenBy.V == e.Layer {
				continue
			}
			prior := alive(entries, idx, e.Layer)
			switch {
			case prior == nil && e.Path == "/":
				// the root always exists
			case prior == nil:
				out[e.Layer] = append(out[e.Layer], Change{Kind: Added, Entry: e})
			case e.Type == "dir" && prior.Type == "dir" && e.Mode == prior.Mode && e.UID == prior.UID && e.GID == prior.GID:
				// the same directory again: no change
			default:
				out[e.Layer] = append(out[e.Layer], Change{Kind: Modified, Entry: e, Prior: prior})
			}
		}
	}
	return out
}

// hasEntryAt reports whether layer has a non-marker entry among idx.
func hasEntryAt(entries []Entry, idx []int, layer int64) bool {
	for _, i := range idx {
		if entries[i].Layer == layer && !entries[i].marker() {
			return true
		}
	}
	return false
}

// alive returns the entry at this path that the layers below layer leave
// in place (not hidden before layer), or nil.
func alive(entries []Entry, idx []int, layer int64) *Entry {
	var best *Entry
	for _, i := range idx {
		e := &entries[i]
		if e.Layer >= layer || e.marker() {
			continue
		}
		if e.HiddenBy.Valid && e.HiddenBy.V < layer {
			continue
		}
		best = e
	}
	return best
}

// owner renders an entry's owner as its user name, else its uid.
func owner(name string, id int64) string {
	if name != "" {
		return name
	}
	return fmt.Sprint(id)
}

// shownMode is an entry's ls -l mode string.
func (e *Entry) shownMode() string { return ModeString(e.Type, e.Mode) }

func (e *Entry) shownPath() string { return ShownPath(e.Path, e.Type, e.Linkname.V) }
