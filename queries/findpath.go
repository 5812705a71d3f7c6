package queries

import (
	"cmp"
	"context"
	"database/sql"
	"slices"

	"github.com/auditor-dev/auditor/index"
)

// On the SQLite index, Find of one exact path reads the index's tables
// (issue 19) through the index package, which owns them (index.PathEntries,
// PathImages, PathHidden); this package builds the rows from what they
// return. Through the image_files view, a path that thousands of images
// hold costs some ten b-tree searches and 21 columns per image (63 ms for
// 4,000 images), while what differs between those rows is only the image
// and its hidden state. The path's layer entries are read once, the images
// from find_images (migration 0026: each image's columns and tags in one
// value, in find's order, so that no sort of the rows is needed), and the
// hidden rows of the entries: on the 10.9M-row index, 4,000 rows in ~5 ms
// against ~39 before (docs/performance.md). findPathSQLite gives the rows
// find.sql would, in
// its order; a path that an image writes through a symlinked directory (the
// moved table) takes find.sql, and so does any path while find_images is
// stale. TestFindPathFast and TestFindPathFastFollows compare the two.

// findPathSQLite is Find of the exact path p on a SQLite index; ok is false
// when the path takes find.sql (an entry of it is moved, or find_images is
// stale).
func findPathSQLite(ctx context.Context, db *sql.DB, p string, o FindOptions) (out []FindRow, ok bool, err error) {
	ents, moved, err := index.PathEntries(ctx, db, p)
	if err != nil || moved {
		return nil, false, err
	}
	if len(ents) == 0 {
		return nil, true, nil
	}

	// The images' entries at p, by manifest, then in find.sql's order
	// within an image: layer, then tar order (the path is the same).
	type at struct {
		m, pos int64
		e      int // in ents
	}
	var all []at
	entryIDs := make([]int64, 0, len(ents))
	for i, e := range ents {
		entryIDs = append(entryIDs, e.ID)
		for _, im := range e.Images {
			all = append(all, at{im.Manifest, im.Position, i})
		}
	}
	slices.SortFunc(all, func(a, b at) int {
		if a.m != b.m {
			return cmp.Compare(a.m, b.m)
		}
		if a.pos != b.pos {
			return cmp.Compare(a.pos, b.pos)
		}
		return cmp.Compare(ents[a.e].Seq, ents[b.e].Seq)
	})
	var ids []int64  // each manifest once, sorted
	var starts []int // of its entries in all
	for i, a := range all {
		if i == 0 || a.m != all[i-1].m {
			ids, starts = append(ids, a.m), append(starts, i)
		}
	}
	starts = append(starts, len(all))
	images, ok, err := index.PathImages(ctx, db, ids, p) // in find's order
	if err != nil || !ok {
		return nil, false, err
	}
	hidden, err := index.PathHidden(ctx, db, entryIDs)
	if err != nil {
		return nil, false, err
	}

	n := 0
	for _, im := range images {
		k, _ := slices.BinarySearch(ids, im.Manifest)
		n += starts[k+1] - starts[k]
	}
	if o.Limit > 0 {
		n = min(n, o.Limit)
	}
	out = make([]FindRow, 0, n)
	for _, im := range images {
		k, _ := slices.BinarySearch(ids, im.Manifest)
		platform := Platform(im.OS, im.Architecture, im.Variant)
		for _, a := range all[starts[k]:starts[k+1]] {
			e := &ents[a.e]
			h, isHidden := hidden[index.HiddenKey{Entry: e.ID, Manifest: im.Manifest, Position: a.pos}]
			if isHidden && h.How == "marker" || o.VisibleOnly && isHidden || o.HiddenOnly && !isHidden {
				continue
			}
			r := FindRow{Registry: im.Registry, Repository: im.Repository, Tags: im.Tags, ImageDigest: im.Digest,
				Platform: platform, Path: p, Type: e.Type, LayerPosition: a.pos,
				LayerDigest: e.LayerDigest, Size: e.Size, Mode: e.Mode, UID: e.UID, GID: e.GID, SHA256: e.SHA256,
				Linkname: e.Linkname, Visible: !isHidden}
			if isHidden {
				r.HiddenBy = sql.Null[int64]{V: h.By, Valid: true}
				r.HiddenHow = sql.Null[string]{V: h.How, Valid: h.How != ""}
			} else {
				r.Package = im.Owners
			}
			out = append(out, r)
			if o.Limit > 0 && len(out) == o.Limit {
				return out, true, nil
			}
		}
	}
	if len(out) == 0 {
		return nil, true, nil
	}
	return out, true, nil
}
