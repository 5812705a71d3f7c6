package index

import (
	"context"
	"database/sql"
)

// VisibilityBothWays computes again, for every indexed image of db, the
// entries it hides, with Overlay in memory (first hiding of each entry, as
// the hidden table keeps them) and in path order from SQLite, and returns
// both, and the rows stored, by image digest and sorted by entry id. It
// writes nothing.
func VisibilityBothWays(ctx context.Context, db *DB) (inMemory, byPath, stored map[string][]Hidden, err error) {
	inMemory, byPath, stored = map[string][]Hidden{}, map[string][]Hidden{}, map[string][]Hidden{}
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
	byID := func(hs []Hidden) []Hidden {
		sortHidden(hs)
		return hs
	}
	for _, im := range images {
		spans, err := manifestSpans(ctx, tx, im.id)
		if err != nil {
			return nil, nil, nil, err
		}
		var mem, path []Hidden
		fresh := &DB{entries: newEntryCache(), prefixes: newPrefixCache()}
		if err := fresh.overlayInMemory(ctx, tx, spans, func(h Hidden) error { mem = append(mem, h); return nil }); err != nil {
			return nil, nil, nil, err
		}
		if err := overlaySorted(ctx, tx, im.id, func(h Hidden) error { path = append(path, h); return nil }); err != nil {
			return nil, nil, nil, err
		}
		inMemory[im.digest], byPath[im.digest] = byID(mem), byID(path)
		st, err := storedHidden(ctx, tx, im.id)
		if err != nil {
			return nil, nil, nil, err
		}
		stored[im.digest] = st
	}
	return inMemory, byPath, stored, nil
}

func storedHidden(ctx context.Context, tx *sql.Tx, manifestID int64) ([]Hidden, error) {
	rows, err := tx.QueryContext(ctx, `SELECT entry_id, layer_position, hidden_by_position, how FROM hidden WHERE manifest_id = ? ORDER BY layer_position, entry_id`, manifestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Hidden
	for rows.Next() {
		var h Hidden
		if err := rows.Scan(&h.ID, &h.Pos, &h.By, &h.How); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// KeepNoPrefixes makes db compute every image's visibility over all its
// layers, as if no image before it had the same lower layers.
func KeepNoPrefixes(db *DB) { db.prefixes = nil }
