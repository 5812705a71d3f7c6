package index

import (
	"context"
	"database/sql"
	"fmt"
)

// dropPending removes a reservation of pending_layers and the rows written
// under it: the entries of its id block and their content matches.
func dropPending(ctx context.Context, tx *sql.Tx, lid, first, last int64) error {
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM content_hits WHERE layer_id = ? AND NOT EXISTS (SELECT 1 FROM layers WHERE id = ?)`, []any{lid, lid}},
		{`DELETE FROM entries WHERE id BETWEEN ? AND ? AND layer_id = ?`, []any{first, last, lid}},
		{`DELETE FROM pending_layers WHERE layer_id = ?`, []any{lid}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			return err
		}
	}
	return nil
}

// dropAllPending removes every reservation and what was written under it:
// layers that a killed process left half written. Call it only where no
// LayerWriter is in use on the database (at the start of a scan, under the
// scan lock).
func dropAllPending(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT layer_id, first_entry, last_entry FROM pending_layers`)
	if err != nil {
		return err
	}
	type block struct{ lid, first, last int64 }
	var blocks []block
	for rows.Next() {
		var b block
		if err := rows.Scan(&b.lid, &b.first, &b.last); err != nil {
			rows.Close()
			return err
		}
		blocks = append(blocks, b)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, b := range blocks {
		if err := dropPending(ctx, tx, b.lid, b.first, b.last); err != nil {
			return fmt.Errorf("unfinished layer %d: %w", b.lid, err)
		}
	}
	return nil
}
