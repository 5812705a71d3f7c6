package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"modernc.org/sqlite"
)

// The SQLite index's own reading of one exact path, for find (issue 19):
// queries.Find takes it on a pool this package opened (IsPool) and builds
// its rows from what these return, so that the index's tables stay this
// package's; on any other back end it reads the public views.

// IsPool reports whether q is a pool of a SQLite index (the read pool of
// a DB), whose tables PathEntries, PathImages, PathHidden and PathMoved read.
func IsPool(q any) bool {
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

// PathEntry is one layer entry at the path.
type PathEntry struct {
	ID, Layer            int64
	LayerDigest          string
	Seq                  int64 // its place in its layer's tar
	Type                 string
	Mode, UID, GID, Size int64
	SHA256, Linkname     sql.Null[string]
	Images               string // "manifest position,..." of the images holding its layer
}

// PathEntries reads the entries at path p; moved is true when any of them
// is written elsewhere through a link, or lands at p through one (then the
// views must answer), and when nothing is at p but something lands there.
func PathEntries(ctx context.Context, db *sql.DB, p string) (ents []PathEntry, moved bool, err error) {
	rows, err := db.QueryContext(ctx, fastEntriesSQL, p)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var e PathEntry
		var images sql.Null[string]
		var mv bool
		if err := rows.Scan(&e.ID, &e.Layer, &e.LayerDigest, &e.Seq, &e.Type, &e.Mode, &e.UID, &e.GID, &e.Size,
			&e.SHA256, &e.Linkname, &images, &mv); err != nil {
			return nil, false, err
		}
		if mv {
			return nil, true, rows.Close()
		}
		e.Images = images.V
		ents = append(ents, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if err := rows.Close(); err != nil {
		return nil, false, err
	}
	if len(ents) == 0 { // nothing at p, unless written there through a link
		err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM paths p JOIN moved mv ON mv.path_id = p.id WHERE p.path = ?1)`, p).Scan(&moved)
		return nil, moved, err
	}
	return ents, false, nil
}

// PathImage is an indexed image in one repository holding it.
type PathImage struct {
	Registry, Repository, Digest, Index string
	OS, Architecture, Variant           string
	Tags                                []string         // current tags, sorted, each once
	Owners                              sql.Null[string] // the packages owning the path in it
}

// PathImages reads the images ids, each once per repository holding it,
// with the packages owning path in it.
func PathImages(ctx context.Context, db *sql.DB, ids []int64, path string) (map[int64][]PathImage, error) {
	arg, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, fastImagesSQL, string(arg), path)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]PathImage{}
	for rows.Next() {
		var id int64
		var packed string
		var tags sql.Null[string]
		var im PathImage
		if err := rows.Scan(&id, &packed, &tags, &im.Owners); err != nil {
			return nil, err
		}
		f, err := unpackFields(packed)
		if err != nil || len(f) != 7 {
			return nil, fmt.Errorf("image %d: bad packed columns (%v)", id, err)
		}
		im.Registry, im.Repository, im.Digest, im.Index = f[0], f[1], f[2], f[3]
		im.OS, im.Architecture, im.Variant = f[4], f[5], f[6]
		if im.Tags, err = unpackFields(tags.V); err != nil {
			return nil, fmt.Errorf("image %d: tags: %w", id, err)
		}
		slices.Sort(im.Tags)
		im.Tags = slices.Compact(im.Tags)
		out[id] = append(out[id], im)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}

// HiddenKey names an entry in an image, at a layer position.
type HiddenKey struct{ Entry, Manifest, Position int64 }

// HiddenRow says by which layer and how an entry is hidden in an image.
type HiddenRow struct {
	By  int64
	How string // deleted, opaque, overwritten or marker
}

var hiddenHows = map[int64]string{1: "deleted", 2: "opaque", 3: "overwritten", 4: "marker"}

// PathHidden reads the hidden rows of entries ids.
func PathHidden(ctx context.Context, db *sql.DB, ids []int64) (map[HiddenKey]HiddenRow, error) {
	arg, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, fastHiddenSQL, string(arg))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[HiddenKey]HiddenRow{}
	for rows.Next() {
		var k HiddenKey
		var how int64
		var h HiddenRow
		if err := rows.Scan(&k.Entry, &k.Manifest, &k.Position, &h.By, &how); err != nil {
			return nil, err
		}
		h.How = hiddenHows[how]
		out[k] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
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
