package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// AddConfig records a configuration file of the layer (stored at Commit).
func (w *LayerWriter) AddConfig(f ConfigFile) {
	w.configs = append(w.configs, f)
}

// putConfigs stores, in tx, the configuration files of the layer with this
// id (n entries from entry id first), replacing any the layer had: each
// file's entry, and the lines and rows of each content not yet parsed at
// this version.
func putConfigs(ctx context.Context, tx *sql.Tx, layerID, first, n int64, files []ConfigFile) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM config_entries WHERE layer_id = ?`, layerID); err != nil {
		return fmt.Errorf("configuration files: %w", err)
	}
	if len(files) == 0 {
		return nil
	}
	lineStmt, err := tx.PrepareContext(ctx, `INSERT INTO config_lines (content_id, line, text) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	defer lineStmt.Close()
	rowStmt, err := tx.PrepareContext(ctx, `INSERT INTO config_rows (content_id, kind, type, line, a, b, c, d, e, f, n1, n2)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer rowStmt.Close()
	for _, f := range files {
		if f.Seq < 0 || int64(f.Seq) >= n {
			return fmt.Errorf("configuration file %s: no entry %d", f.Kind, f.Seq)
		}
		id := first + int64(f.Seq)
		var content sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT content_id FROM entries WHERE id = ?`, id).Scan(&content); err != nil {
			return fmt.Errorf("configuration file %d: %w", f.Seq, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO config_entries (entry_id, layer_id, kind, error) VALUES (?, ?, ?, ?)`,
			id, layerID, f.Kind, nullStr(f.Error)); err != nil {
			return fmt.Errorf("configuration file %d: %w", f.Seq, err)
		}
		if !content.Valid || f.Error != "" {
			continue
		}
		if f.Data != nil {
			// Compressed only when the index does not hold this content yet
			// (the same /etc/passwd stands in many layers).
			var have int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM content_blobs WHERE content_id = ?`, content.Int64).Scan(&have); err != nil {
				return fmt.Errorf("configuration file %d: %w", f.Seq, err)
			}
			if have == 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO content_blobs (content_id, size, compression, data) VALUES (?, ?, 'zstd', ?)`,
					content.Int64, len(f.Data), captureEncoder.EncodeAll(f.Data, nil)); err != nil {
					return fmt.Errorf("configuration file %d: %w", f.Seq, err)
				}
			}
		}
		var have string
		err := tx.QueryRowContext(ctx, `SELECT version FROM config_parsed WHERE content_id = ? AND kind = ?`, content.Int64, f.Kind).Scan(&have)
		switch {
		case err == nil && have == f.Version:
			continue // this content was parsed as this kind already
		case err == nil:
			if _, err := tx.ExecContext(ctx, `DELETE FROM config_rows WHERE content_id = ? AND kind = ?`, content.Int64, f.Kind); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		for i, text := range f.Lines {
			if _, err := lineStmt.ExecContext(ctx, content.Int64, i+1, text); err != nil {
				return fmt.Errorf("configuration file %d line %d: %w", f.Seq, i+1, err)
			}
		}
		for _, r := range f.Rows {
			if _, err := rowStmt.ExecContext(ctx, content.Int64, f.Kind, r.Type, r.Line, r.A, r.B, r.C, r.D, r.E, r.F, r.N1, r.N2); err != nil {
				return fmt.Errorf("configuration file %d row %s: %w", f.Seq, r.Type, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO config_parsed (content_id, kind, version) VALUES (?, ?, ?)
			ON CONFLICT (content_id, kind) DO UPDATE SET version = excluded.version`, content.Int64, f.Kind, f.Version); err != nil {
			return err
		}
	}
	return nil
}
