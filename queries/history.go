package queries

import (
	"context"
	"database/sql"
	"fmt"
)

// HistoryRow is one history entry of an image, with the layer it made and
// what that layer changed.
type HistoryRow struct {
	Position                 sql.Null[int64] // NULL for a layer no history entry describes
	Created                  sql.Null[string]
	CreatedBy, Comment       sql.Null[string]
	EmptyLayer               bool
	LayerPosition            sql.Null[int64]
	LayerDigest              sql.Null[string]
	Size, UncompressedSize   sql.Null[int64]
	Entries                  sql.Null[int64]
	Added, Modified, Deleted int64
}

// History returns im's history, bottom first. Each entry that made a layer
// carries the layer's digest, size, and counts of the files it added,
// modified and deleted (see LayerChanges). Layers that no history entry
// describes are listed too, without a position.
func History(ctx context.Context, db Querier, im *Image) ([]HistoryRow, error) {
	rows, err := db.QueryContext(ctx, query("history"), im.Digest)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", im.Name(), err)
	}
	defer rows.Close()
	var out []HistoryRow
	described := map[int64]bool{}
	for rows.Next() {
		var r HistoryRow
		if err := rows.Scan(&r.Position, &r.Created, &r.CreatedBy, &r.Comment, &r.EmptyLayer, &r.LayerPosition,
			&r.LayerDigest, &r.Size, &r.UncompressedSize, &r.Entries); err != nil {
			return nil, fmt.Errorf("history of %s: %w", im.Name(), err)
		}
		if r.LayerPosition.Valid {
			described[r.LayerPosition.V] = true
		}
		out = append(out, r)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("history of %s: %w", im.Name(), err)
	}
	lrows, err := db.QueryContext(ctx, query("image_layers"), im.Digest)
	if err != nil {
		return nil, fmt.Errorf("layers of %s: %w", im.Name(), err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var r HistoryRow
		var pos int64
		if err := lrows.Scan(&pos, &r.LayerDigest, &r.Size, &r.UncompressedSize, &r.Entries); err != nil {
			return nil, fmt.Errorf("layers of %s: %w", im.Name(), err)
		}
		if !described[pos] {
			r.LayerPosition = sql.Null[int64]{V: pos, Valid: true}
			out = append(out, r)
		}
	}
	if err := closeRows(lrows); err != nil {
		return nil, fmt.Errorf("layers of %s: %w", im.Name(), err)
	}
	entries, err := Entries(ctx, db, im, "/", false)
	if err != nil {
		return nil, err
	}
	changes := LayerChanges(entries)
	for i := range out {
		r := &out[i]
		if !r.LayerPosition.Valid {
			continue
		}
		for _, c := range changes[r.LayerPosition.V] {
			switch c.Kind {
			case Added:
				r.Added++
			case Modified:
				r.Modified++
			case Deleted:
				r.Deleted++
			}
		}
	}
	return out, nil
}

// HistoryResult is the output of History.
func HistoryResult(rows []HistoryRow) *Result {
	res := &Result{Columns: []Column{
		{Name: "position", Head: "#", Right: true, Show: dashNull},
		{Name: "created", Head: "CREATED", Show: dateTime},
		{Name: "created_by", Head: "CREATED BY", Max: 60, Show: dashNull},
		{Name: "comment", NoTable: true},
		{Name: "empty_layer", Head: "EMPTY", Show: YesNo},
		{Name: "layer_position", Head: "LAYER", Right: true, Show: dashNull},
		{Name: "layer_digest", Head: "LAYER DIGEST", Show: ShortDigest},
		{Name: "size", Head: "SIZE", Right: true, Show: HumanSize},
		{Name: "uncompressed_size", NoTable: true},
		{Name: "entries", NoTable: true},
		{Name: "added", Head: "ADDED", Right: true},
		{Name: "modified", Head: "MODIFIED", Right: true},
		{Name: "deleted", Head: "DELETED", Right: true},
	}}
	for _, r := range rows {
		res.Rows = append(res.Rows, []any{nullable(r.Position), nullable(r.Created), nullable(r.CreatedBy),
			nullable(r.Comment), r.EmptyLayer, nullable(r.LayerPosition), nullable(r.LayerDigest),
			nullable(r.Size), nullable(r.UncompressedSize), nullable(r.Entries), r.Added, r.Modified, r.Deleted})
	}
	return res
}
