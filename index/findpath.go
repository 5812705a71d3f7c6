package index

import (
	"cmp"
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
	Images               []ImageAt // the images holding its layer
}

// ImageAt is an image holding a layer, and the layer's position in it.
type ImageAt struct{ Manifest, Position int64 }

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
		if e.Images, err = parseImages(images.V); err != nil {
			return nil, false, fmt.Errorf("layer %s: %w", e.LayerDigest, err)
		}
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
	Manifest                            int64
	Registry, Repository, Digest, Index string
	OS, Architecture, Variant           string
	Tags                                []string         // current tags, sorted, each once
	Owners                              sql.Null[string] // the packages owning the path in it
	ownersSet                           string           // its owners set's id, "" for none
}

// scanShare: PathImages reads the whole of find_images when the images
// asked for are at least 1/scanShare of its rows (one sequential read, in
// find's order), else it looks each up by manifest.
const scanShare = 8

// PathImages reads the images ids (manifest ids, sorted, each once), each
// once per repository holding it, in find's order (registry, repository,
// digest), with the packages owning path in each, from find_images
// (migration 0026). Its rows come as one value: through database/sql,
// 4,000 rows of two columns cost 1.4 ms, their group_concat 0.8.
// ok is false when find_images is stale: SQL other than the index writer's
// changed what it holds since the writer last rebuilt it (findimages.go).
func PathImages(ctx context.Context, db *sql.DB, ids []int64, path string) (out []PathImage, ok bool, err error) {
	if len(ids) == 0 {
		return nil, true, nil
	}
	var total int
	var stale bool
	if err := db.QueryRowContext(ctx, `SELECT count(*), EXISTS (SELECT 1 FROM find_images_stale)
		OR EXISTS (SELECT 1 FROM find_images_stale_tags) FROM find_images`).Scan(&total, &stale); err != nil || stale {
		return nil, false, err
	}
	var packed sql.Null[string]
	if len(ids)*scanShare >= total {
		err = db.QueryRowContext(ctx, `SELECT group_concat(packed, '') FROM
			(SELECT packed FROM find_images ORDER BY registry, repository, digest)`).Scan(&packed)
	} else {
		var arg []byte
		if arg, err = json.Marshal(ids); err != nil {
			return nil, false, err
		}
		err = db.QueryRowContext(ctx, `SELECT group_concat(packed, '') FROM
			(SELECT packed FROM find_images WHERE manifest_id IN (SELECT value FROM json_each(?1)) ORDER BY registry, repository, digest)`,
			string(arg)).Scan(&packed)
	}
	if err != nil {
		return nil, false, err
	}
	out = make([]PathImage, 0, len(ids))
	var f [10]string
	for s := packed.V; s != ""; {
		for i := range f {
			if f[i], s, err = cutField(s); err != nil {
				return nil, false, fmt.Errorf("find_images: %w", err)
			}
		}
		id, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, false, fmt.Errorf("find_images: bad manifest id %q", f[0])
		}
		if _, ok := slices.BinarySearch(ids, id); !ok {
			continue
		}
		im := PathImage{Manifest: id, Registry: f[1], Repository: f[2], Digest: f[3], Index: f[4],
			OS: f[5], Architecture: f[6], Variant: f[7], ownersSet: f[8]}
		if im.Tags, err = unpackFields(f[9]); err != nil {
			return nil, false, fmt.Errorf("image %d: tags: %w", id, err)
		}
		if len(im.Tags) > 1 {
			slices.Sort(im.Tags)
			im.Tags = slices.Compact(im.Tags)
		}
		out = append(out, im)
	}
	// group_concat keeps the order of its subquery in SQLite; were it not
	// so, find's order is made here.
	if !slices.IsSortedFunc(out, comparePathImages) {
		slices.SortFunc(out, comparePathImages)
	}
	return out, true, pathOwners(ctx, db, out, path)
}

func comparePathImages(a, b PathImage) int {
	return cmp.Or(cmp.Compare(a.Registry, b.Registry), cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.Digest, b.Digest))
}

// pathOwners sets the owners of path in the images out.
func pathOwners(ctx context.Context, db *sql.DB, out []PathImage, path string) error {
	sets := map[string][]int{} // owners set -> indexes in out
	for i, im := range out {
		if im.ownersSet != "" {
			sets[im.ownersSet] = append(sets[im.ownersSet], i)
		}
	}
	if len(sets) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(sets))
	for s := range sets {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("bad owners set %q", s)
		}
		ids = append(ids, id)
	}
	arg, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT set_id, packages FROM package_set_owners
		WHERE set_id IN (SELECT value FROM json_each(?1)) AND path = ?2`, string(arg), path)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var set, packages string
		if err := rows.Scan(&set, &packages); err != nil {
			return err
		}
		for _, i := range sets[set] {
			out[i].Owners = sql.Null[string]{V: packages, Valid: true}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
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

// parseImages parses "manifest position,..." ("" for none).
func parseImages(s string) ([]ImageAt, error) {
	if s == "" {
		return nil, nil
	}
	out := make([]ImageAt, 0, strings.Count(s, ",")+1)
	for s != "" {
		var mp string
		mp, s, _ = strings.Cut(s, ",")
		ms, ps, ok := strings.Cut(mp, " ")
		m, err1 := strconv.ParseInt(ms, 10, 64)
		pos, err2 := strconv.ParseInt(ps, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad layer images %q", mp)
		}
		out = append(out, ImageAt{m, pos})
	}
	return out, nil
}

// unpackFields splits fields each written as its length in bytes, ':' and
// its bytes; "" is no field. The fields share s.
func unpackFields(s string) ([]string, error) {
	out := []string{}
	for s != "" {
		var f string
		var err error
		if f, s, err = cutField(s); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// cutField cuts the first field off s (its length in bytes, ':' and its
// bytes).
func cutField(s string) (field, rest string, err error) {
	n, i := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && i < 10; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if i == 0 || i == len(s) || s[i] != ':' || n > len(s)-i-1 {
		return "", "", fmt.Errorf("bad packed field at %q", s[:min(len(s), 20)])
	}
	return s[i+1 : i+1+n], s[i+1+n:], nil
}
