package queries

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"modernc.org/sqlite"
)

// On the SQLite index, Find of one exact path reads the index's tables
// directly (issue 19): through the image_files view, a path that thousands
// of images hold costs some ten b-tree searches and 21 columns per image
// (63 ms for 4,000 images), while what differs between those rows is only
// the image and its hidden state (2.3x less CPU this way: 52 ms median
// against 119 in one run on the 10.9M-row index; the per-image columns
// and tags of 4,000 images are most of what is left). findPathSQLite reads the entries once
// (a path is in a few layer entries), the images holding their layers as
// one list per layer, each image's columns and tags packed into one value,
// and the hidden rows of those entries through hidden_entry; it gives the
// rows find.sql would, in its order. A path that an image writes through a
// symlinked directory (the moved table) takes find.sql. TestFindPathFast
// compares the two on the fleet.

// sqliteIndex reports whether q reads a SQLite index (the index package's
// pools), whose tables findPathSQLite knows.
func sqliteIndex(q Querier) bool {
	db, ok := q.(*sql.DB)
	if !ok {
		return false
	}
	_, ok = db.Driver().(*sqlite.Driver)
	return ok
}

// The entries at the path, the images of their layers and whether any is
// moved (written elsewhere through a link, or landing here through one).
const fastEntriesSQL = `SELECT e.id, e.layer_id, l.digest, e.id - l.first_entry,
       CASE e.type WHEN 0 THEN 'file' WHEN 1 THEN 'dir' WHEN 2 THEN 'symlink'
                   WHEN 3 THEN 'hardlink' WHEN 4 THEN 'char' WHEN 5 THEN 'block'
                   WHEN 6 THEN 'fifo' WHEN 7 THEN 'whiteout' WHEN 8 THEN 'opaque'
                   ELSE 'other' END,
       e.mode, e.uid, e.gid,
       CASE WHEN e.type = 3 AND e.content_id IS NOT NULL
            THEN COALESCE((SELECT s.size FROM entries s WHERE s.content_id = e.content_id AND s.type = 0 LIMIT 1), e.size)
            ELSE e.size END,
       c.sha256, e.linkname,
       (SELECT group_concat(ml.manifest_id || ' ' || ml.position) FROM manifest_layers ml WHERE ml.layer_id = e.layer_id),
       EXISTS (SELECT 1 FROM moved mv WHERE mv.entry_id = e.id) OR EXISTS (SELECT 1 FROM moved mv WHERE mv.path_id = p.id)
FROM paths p
JOIN entries e ON e.path_id = p.id
JOIN layers l ON l.id = e.layer_id AND e.id BETWEEN l.first_entry AND l.last_entry
LEFT JOIN contents c ON c.id = e.content_id
WHERE p.path = ?1`

// Each indexed image among ?1 (a JSON array of manifest ids), once per
// repository holding it: its columns and current tags, each field
// length-prefixed (bytes, then ':') so that no name can pass for another,
// and the packages owning ?2 in it. The tags come unsorted.
const fastImagesSQL = `SELECT m.id,
       length(CAST(r.registry AS BLOB)) || ':' || r.registry ||
       length(CAST(r.name AS BLOB)) || ':' || r.name ||
       length(CAST(m.digest AS BLOB)) || ':' || m.digest ||
       length(CAST(COALESCE(rm.index_digest, '') AS BLOB)) || ':' || COALESCE(rm.index_digest, '') ||
       length(CAST(COALESCE(m.os, '') AS BLOB)) || ':' || COALESCE(m.os, '') ||
       length(CAST(COALESCE(m.architecture, '') AS BLOB)) || ':' || COALESCE(m.architecture, '') ||
       length(CAST(COALESCE(m.variant, '') AS BLOB)) || ':' || COALESCE(m.variant, ''),
       (SELECT group_concat(length(CAST(th.tag AS BLOB)) || ':' || th.tag, '') FROM tag_history th
        WHERE th.repository_id = rm.repository_id AND th.digest IN (m.digest, rm.index_digest) AND th.gone IS NULL
          AND NOT EXISTS (SELECT 1 FROM tag_history n
                          WHERE n.repository_id = th.repository_id AND n.tag = th.tag AND n.last_seen > th.last_seen)),
       (SELECT o.packages FROM image_package_state ps JOIN package_set_owners o ON o.set_id = ps.owners_set AND o.path = ?2
        WHERE ps.manifest_id = m.id)
FROM json_each(?1) j
JOIN manifests m ON m.id = j.value
JOIN repo_manifests rm ON rm.manifest_id = m.id
JOIN repositories r ON r.id = rm.repository_id
WHERE m.indexed_at IS NOT NULL`

// The hidden rows of entries ?1 (a JSON array of entry ids).
const fastHiddenSQL = `SELECT h.entry_id, h.manifest_id, h.layer_position, h.hidden_by_position, h.how
FROM hidden h WHERE h.entry_id IN (SELECT value FROM json_each(?1))`

type fastEntry struct {
	id, layer            int64
	layerDigest          string
	seq                  int64
	typ                  string
	mode, uid, gid, size int64
	sha256, linkname     sql.Null[string]
	images               string // "manifest position,..."
}

type fastImage struct {
	registry, repository, digest, index, platform string
	tags                                          []string
	owners                                        sql.Null[string]
}

type hiddenKey struct{ entry, manifest, position int64 }

type hiddenRow struct {
	by  int64
	how string
}

var hiddenHows = map[int64]string{1: "deleted", 2: "opaque", 3: "overwritten", 4: "marker"}

// findPathSQLite is Find of the exact path p on a SQLite index; ok is false
// when the path takes find.sql (an entry of it is moved).
func findPathSQLite(ctx context.Context, db Querier, p string, o FindOptions) (out []FindRow, ok bool, err error) {
	var ents []fastEntry
	rows, err := db.QueryContext(ctx, fastEntriesSQL, p)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var e fastEntry
		var images sql.Null[string]
		var moved bool
		if err := rows.Scan(&e.id, &e.layer, &e.layerDigest, &e.seq, &e.typ, &e.mode, &e.uid, &e.gid, &e.size,
			&e.sha256, &e.linkname, &images, &moved); err != nil {
			return nil, false, err
		}
		if moved {
			return nil, false, rows.Close()
		}
		e.images = images.V
		ents = append(ents, e)
	}
	if err := closeRows(rows); err != nil {
		return nil, false, err
	}
	if len(ents) == 0 { // nothing at p, unless written there through a link
		var moved bool
		err := QueryRow(ctx, db, `SELECT EXISTS (SELECT 1 FROM paths p JOIN moved mv ON mv.path_id = p.id WHERE p.path = ?1)`, p).Scan(&moved)
		return nil, !moved, err
	}

	manifests := map[int64]bool{}
	entryIDs := make([]int64, 0, len(ents))
	for _, e := range ents {
		entryIDs = append(entryIDs, e.id)
		for _, mp := range strings.Split(e.images, ",") {
			m, _, _ := strings.Cut(mp, " ")
			if id, err := strconv.ParseInt(m, 10, 64); err == nil {
				manifests[id] = true
			}
		}
	}
	images, err := fastImages(ctx, db, slices.Collect(maps.Keys(manifests)), p)
	if err != nil {
		return nil, false, err
	}
	hidden, err := fastHidden(ctx, db, entryIDs)
	if err != nil {
		return nil, false, err
	}

	type seqRow struct {
		FindRow
		seq int64
	}
	var found []seqRow
	for _, e := range ents {
		for _, mp := range strings.Split(e.images, ",") {
			ms, ps, ok := strings.Cut(mp, " ")
			if !ok {
				continue
			}
			m, err1 := strconv.ParseInt(ms, 10, 64)
			pos, err2 := strconv.ParseInt(ps, 10, 64)
			if err1 != nil || err2 != nil {
				return nil, false, fmt.Errorf("find %s: layer images %q", p, mp)
			}
			h, isHidden := hidden[hiddenKey{e.id, m, pos}]
			if isHidden && h.how == "marker" || o.VisibleOnly && isHidden || o.HiddenOnly && !isHidden {
				continue
			}
			for _, im := range images[m] {
				r := FindRow{Registry: im.registry, Repository: im.repository, Tags: im.tags, ImageDigest: im.digest,
					Platform: im.platform, Path: p, Type: e.typ, LayerPosition: pos, LayerDigest: e.layerDigest,
					Size: e.size, Mode: e.mode, UID: e.uid, GID: e.gid, SHA256: e.sha256, Linkname: e.linkname,
					Visible: !isHidden}
				if isHidden {
					r.HiddenBy = sql.Null[int64]{V: h.by, Valid: true}
					r.HiddenHow = sql.Null[string]{V: h.how, Valid: h.how != ""}
				} else {
					r.Package = im.owners
				}
				found = append(found, seqRow{r, e.seq})
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

// fastImages reads the images ids, each once per repository holding it,
// with the packages owning path in it.
func fastImages(ctx context.Context, db Querier, ids []int64, path string) (map[int64][]fastImage, error) {
	arg, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, fastImagesSQL, string(arg), path)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]fastImage{}
	for rows.Next() {
		var id int64
		var packed string
		var tags sql.Null[string]
		var im fastImage
		if err := rows.Scan(&id, &packed, &tags, &im.owners); err != nil {
			return nil, err
		}
		f, err := unpackFields(packed)
		if err != nil || len(f) != 7 {
			return nil, fmt.Errorf("image %d: bad packed columns (%v)", id, err)
		}
		im.registry, im.repository, im.digest, im.index = f[0], f[1], f[2], f[3]
		im.platform = Platform(f[4], f[5], f[6])
		if im.tags, err = unpackFields(tags.V); err != nil {
			return nil, fmt.Errorf("image %d: tags: %w", id, err)
		}
		slices.Sort(im.tags)
		im.tags = slices.Compact(im.tags)
		out[id] = append(out[id], im)
	}
	return out, closeRows(rows)
}

// fastHidden reads the hidden rows of entries ids.
func fastHidden(ctx context.Context, db Querier, ids []int64) (map[hiddenKey]hiddenRow, error) {
	arg, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, fastHiddenSQL, string(arg))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[hiddenKey]hiddenRow{}
	for rows.Next() {
		var k hiddenKey
		var how int64
		var h hiddenRow
		if err := rows.Scan(&k.entry, &k.manifest, &k.position, &h.by, &how); err != nil {
			return nil, err
		}
		h.how = hiddenHows[how]
		out[k] = h
	}
	return out, closeRows(rows)
}

// unpackFields splits fields each written as its length in bytes, ':' and
// its bytes; "" is no field.
func unpackFields(s string) ([]string, error) {
	out := []string{}
	for s != "" {
		n, rest, ok := strings.Cut(s, ":")
		l, err := strconv.Atoi(n)
		if !ok || err != nil || l < 0 || l > len(rest) {
			return nil, fmt.Errorf("bad packed field at %q", s[:min(len(s), 20)])
		}
		out = append(out, rest[:l])
		s = rest[l:]
	}
	return out, nil
}
