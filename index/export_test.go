package index

import (
	"context"
	"database/sql"

	"github.com/auditor-dev/auditor/overlay"
)

// Visibility is overlay.Visibility.
type Visibility = overlay.Visibility

// VisibilityBothWays computes again, for every indexed image of db, the
// entries it hides and those it moves, with Overlay in memory and in path
// order from SQLite, and returns both, and the rows stored, by image
// digest. It writes nothing.
func VisibilityBothWays(ctx context.Context, db *DB) (inMemory, byPath, stored map[string]Visibility, err error) {
	inMemory, byPath, stored = map[string]Visibility{}, map[string]Visibility{}, map[string]Visibility{}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	defer tx.Rollback()
	type image struct {
		id     int64
		digest string
	}
	var images []image
	rows, err := tx.QueryContext(ctx, `SELECT id, digest FROM manifests WHERE is_index = 0 AND indexed_at IS NOT NULL`)
	if err != nil {
		return nil, nil, nil, err
	}
	for rows.Next() {
		var im image
		if err := rows.Scan(&im.id, &im.digest); err != nil {
			return nil, nil, nil, err
		}
		images = append(images, im)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, nil, err
	}
	sorted := func(v visibilityLists) Visibility {
		return overlay.NewVisibility(v.hidden, v.moved, v.inodes)
	}
	for _, im := range images {
		spans, err := manifestSpans(ctx, tx, im.id)
		if err != nil {
			return nil, nil, nil, err
		}
		var mem, path visibilityLists
		fresh := &DB{entries: newEntryCache(), prefixes: newPrefixCache()}
		if err := fresh.overlayInMemory(ctx, tx, spans, &mem); err != nil {
			return nil, nil, nil, err
		}
		if err := overlaySorted(ctx, tx, im.id, &path); err != nil {
			return nil, nil, nil, err
		}
		inMemory[im.digest], byPath[im.digest] = sorted(mem), sorted(path)
		st, err := storedVisibility(ctx, tx, im.id)
		if err != nil {
			return nil, nil, nil, err
		}
		stored[im.digest] = sorted(st)
	}
	return inMemory, byPath, stored, nil
}

func storedVisibility(ctx context.Context, tx *sql.Tx, manifestID int64) (visibilityLists, error) {
	var v visibilityLists
	rows, err := tx.QueryContext(ctx, `SELECT entry_id, layer_position, hidden_by_position, how FROM hidden WHERE manifest_id = ?`, manifestID)
	if err != nil {
		return v, err
	}
	defer rows.Close()
	for rows.Next() {
		var h Hidden
		if err := rows.Scan(&h.ID, &h.Pos, &h.By, &h.How); err != nil {
			return v, err
		}
		v.hidden = append(v.hidden, h)
	}
	if err := rows.Close(); err != nil {
		return v, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT mv.entry_id, mv.layer_position, p.path, e.type FROM moved mv
		JOIN paths p ON p.id = mv.path_id JOIN entries e ON e.id = mv.entry_id WHERE mv.manifest_id = ? AND mv.path_id != e.path_id`, manifestID)
	if err != nil {
		return v, err
	}
	for rows.Next() {
		var m Moved
		if err := rows.Scan(&m.ID, &m.Pos, &m.Path, &m.Type); err != nil {
			return v, err
		}
		v.moved = append(v.moved, m)
	}
	return v, rows.Err()
}

// KeepNoPrefixes makes db compute every image's visibility over all its
// layers, as if no image before it had the same lower layers.
func KeepNoPrefixes(db *DB) { db.prefixes = nil }
