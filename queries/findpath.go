package queries

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/auditor-dev/auditor/index"
)

// On the SQLite index, Find of one exact path reads the index's tables
// (issue 19) through the index package, which owns them (index.PathEntries,
// PathImages, PathHidden); this package builds the rows from what they
// return. Through the image_files view, a path that thousands of images
// hold costs some ten b-tree searches and 21 columns per image (63 ms for
// 4,000 images), while what differs between those rows is only the image
// and its hidden state (2.3x less CPU this way: 52 ms median against 119
// in one run on the 10.9M-row index). findPathSQLite gives the rows
// find.sql would, in its order; a path that an image writes through a
// symlinked directory (the moved table) takes find.sql. TestFindPathFast
// compares the two on the fleet.

// findPathSQLite is Find of the exact path p on a SQLite index; ok is false
// when the path takes find.sql (an entry of it is moved).
func findPathSQLite(ctx context.Context, db *sql.DB, p string, o FindOptions) (out []FindRow, ok bool, err error) {
	ents, moved, err := index.PathEntries(ctx, db, p)
	if err != nil || moved {
		return nil, false, err
	}
	if len(ents) == 0 {
		return nil, true, nil
	}

	manifests := map[int64]bool{}
	entryIDs := make([]int64, 0, len(ents))
	for _, e := range ents {
		entryIDs = append(entryIDs, e.ID)
		for _, mp := range strings.Split(e.Images, ",") {
			m, _, _ := strings.Cut(mp, " ")
			if id, err := strconv.ParseInt(m, 10, 64); err == nil {
				manifests[id] = true
			}
		}
	}
	images, err := index.PathImages(ctx, db, slices.Collect(maps.Keys(manifests)), p)
	if err != nil {
		return nil, false, err
	}
	hidden, err := index.PathHidden(ctx, db, entryIDs)
	if err != nil {
		return nil, false, err
	}

	type seqRow struct {
		FindRow
		seq int64
	}
	var found []seqRow
	for _, e := range ents {
		for _, mp := range strings.Split(e.Images, ",") {
			ms, ps, ok := strings.Cut(mp, " ")
			if !ok {
				continue
			}
			m, err1 := strconv.ParseInt(ms, 10, 64)
			pos, err2 := strconv.ParseInt(ps, 10, 64)
			if err1 != nil || err2 != nil {
				return nil, false, fmt.Errorf("find %s: layer images %q", p, mp)
			}
			h, isHidden := hidden[index.HiddenKey{Entry: e.ID, Manifest: m, Position: pos}]
			if isHidden && h.How == "marker" || o.VisibleOnly && isHidden || o.HiddenOnly && !isHidden {
				continue
			}
			for _, im := range images[m] {
				r := FindRow{Registry: im.Registry, Repository: im.Repository, Tags: im.Tags, ImageDigest: im.Digest,
					Platform: Platform(im.OS, im.Architecture, im.Variant), Path: p, Type: e.Type, LayerPosition: pos,
					LayerDigest: e.LayerDigest, Size: e.Size, Mode: e.Mode, UID: e.UID, GID: e.GID, SHA256: e.SHA256,
					Linkname: e.Linkname, Visible: !isHidden}
				if isHidden {
					r.HiddenBy = sql.Null[int64]{V: h.By, Valid: true}
					r.HiddenHow = sql.Null[string]{V: h.How, Valid: h.How != ""}
				} else {
					r.Package = im.Owners
				}
				found = append(found, seqRow{r, e.Seq})
			}
		}
	}
	// find.sql's order: image, then path (one here), layer and tar order.
	order := make([]int32, len(found))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		a, b := &found[i], &found[j]
		return cmp.Or(cmp.Compare(a.Registry, b.Registry), cmp.Compare(a.Repository, b.Repository),
			cmp.Compare(a.ImageDigest, b.ImageDigest), cmp.Compare(a.LayerPosition, b.LayerPosition), cmp.Compare(a.seq, b.seq))
	})
	if o.Limit > 0 && len(order) > o.Limit {
		order = order[:o.Limit]
	}
	if len(order) == 0 {
		return nil, true, nil
	}
	out = make([]FindRow, len(order))
	for k, i := range order {
		out[k] = found[i].FindRow
	}
	return out, true, nil
}
