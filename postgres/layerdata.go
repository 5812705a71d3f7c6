package postgres

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/auditor-dev/auditor"
)

// putMatches stores, in tx, the content matches of the layer with this id
// (n entries) and the counts of those not recorded.
func putMatches(ctx context.Context, tx pgx.Tx, layerID, n int64, matches []auditor.ContentMatch, dropped []auditor.ContentDrop) error {
	for _, d := range dropped {
		if d.Seq < 0 || int64(d.Seq) >= n {
			return fmt.Errorf("content matches not recorded: no entry %d", d.Seq)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO content_dropped (layer_id, seq, dropped) VALUES ($1, $2, $3)
			ON CONFLICT (layer_id, seq) DO UPDATE SET dropped = content_dropped.dropped + excluded.dropped`, layerID, d.Seq, d.Dropped); err != nil {
			return fmt.Errorf("content matches not recorded in entry %d: %w", d.Seq, err)
		}
	}
	if len(matches) == 0 {
		return nil
	}
	var b pgx.Batch
	for _, m := range matches {
		if m.Seq < 0 || int64(m.Seq) >= n {
			return fmt.Errorf("content match %s: no entry %d to store it in", m.PatternID, m.Seq)
		}
		b.Queue(`INSERT INTO content_hits (layer_id, seq, pattern_id, "offset", excerpt) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			layerID, m.Seq, Text(m.PatternID), m.Offset, Text(m.Excerpt))
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("content matches: %w", err)
	}
	return nil
}

// putScans records, in tx, that the scans read the layer with this id.
func putScans(ctx context.Context, tx pgx.Tx, layerID int64, scans []auditor.LayerScan, now string) error {
	for _, s := range scans {
		_, err := tx.Exec(ctx, `INSERT INTO layer_scanners (layer_id, scanner, version, scanned_at, error) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (layer_id, scanner) DO UPDATE SET version = excluded.version, scanned_at = excluded.scanned_at, error = excluded.error`,
			layerID, s.Scanner, s.Version, now, nullStr(s.Error))
		if err != nil {
			return fmt.Errorf("scanner %s: %w", s.Scanner, err)
		}
	}
	return nil
}

// putCaptures stores, in tx, the captures and digests of the layer with
// this id (n entries), whose contents are interned already.
func putCaptures(ctx context.Context, tx pgx.Tx, layerID, n int64, caps []capture, digests map[string]auditor.ContentDigests) error {
	for _, c := range caps {
		if c.seq < 0 || int64(c.seq) >= n {
			return fmt.Errorf("capture: no entry %d", c.seq)
		}
		if c.data != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO content_blobs (content_id, size, compression, data)
				SELECT id, $1, 'zstd', $2 FROM contents WHERE sha256 = $3 ON CONFLICT DO NOTHING`, c.size, c.data, c.sha256); err != nil {
				return fmt.Errorf("capture of entry %d: %w", c.seq, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO captured_entries (layer_id, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING`, layerID, c.seq); err != nil {
			return fmt.Errorf("capture of entry %d: %w", c.seq, err)
		}
	}
	for _, sum := range slices.Sorted(maps.Keys(digests)) {
		d := digests[sum]
		if _, err := tx.Exec(ctx, `UPDATE contents SET md5 = $1, sha1 = $2 WHERE sha256 = $3 AND md5 IS NULL`, d.MD5, d.SHA1, d.SHA256); err != nil {
			return fmt.Errorf("digests of %s: %w", d.SHA256, err)
		}
	}
	return nil
}

// putConfigs stores, in tx, the configuration files of the layer with this
// id (n entries), replacing any it had (see index's putConfigs).
func putConfigs(ctx context.Context, tx pgx.Tx, layerID, n int64, files []auditor.ConfigFile) error {
	if _, err := tx.Exec(ctx, `DELETE FROM config_entries WHERE layer_id = $1`, layerID); err != nil {
		return fmt.Errorf("configuration files: %w", err)
	}
	for _, f := range files {
		if f.Seq < 0 || int64(f.Seq) >= n {
			return fmt.Errorf("configuration file %s: no entry %d", f.Kind, f.Seq)
		}
		var content *int64
		if err := tx.QueryRow(ctx, `SELECT content_id FROM entries WHERE layer_id = $1 AND seq = $2`, layerID, f.Seq).Scan(&content); err != nil {
			return fmt.Errorf("configuration file %d: %w", f.Seq, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO config_entries (layer_id, seq, kind, error) VALUES ($1, $2, $3, $4)`,
			layerID, f.Seq, f.Kind, nullStr(f.Error)); err != nil {
			return fmt.Errorf("configuration file %d: %w", f.Seq, err)
		}
		if content == nil || f.Error != "" {
			continue
		}
		if f.Data != nil {
			var have bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM content_blobs WHERE content_id = $1)`, *content).Scan(&have); err != nil {
				return fmt.Errorf("configuration file %d: %w", f.Seq, err)
			}
			if !have {
				if _, err := tx.Exec(ctx, `INSERT INTO content_blobs (content_id, size, compression, data) VALUES ($1, $2, 'zstd', $3)
					ON CONFLICT DO NOTHING`, *content, len(f.Data), captureEncoder.EncodeAll(f.Data, nil)); err != nil {
					return fmt.Errorf("configuration file %d: %w", f.Seq, err)
				}
			}
		}
		var have string
		err := tx.QueryRow(ctx, `SELECT version FROM config_parsed WHERE content_id = $1 AND kind = $2`, *content, f.Kind).Scan(&have)
		switch {
		case err == nil && have == f.Version:
			continue
		case err == nil:
			if _, err := tx.Exec(ctx, `DELETE FROM config_rows WHERE content_id = $1 AND kind = $2`, *content, f.Kind); err != nil {
				return err
			}
		case !noRows(err):
			return err
		}
		var b pgx.Batch
		for i, text := range f.Lines {
			b.Queue(`INSERT INTO config_lines (content_id, line, text) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, *content, i+1, Text(text))
		}
		for _, r := range f.Rows {
			b.Queue(`INSERT INTO config_rows (content_id, kind, type, line, a, b, c, d, e, f, n1, n2)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				*content, f.Kind, r.Type, r.Line, Text(r.A), Text(r.B), Text(r.C), Text(r.D), Text(r.E), Text(r.F), r.N1, r.N2)
		}
		b.Queue(`INSERT INTO config_parsed (content_id, kind, version) VALUES ($1, $2, $3)
			ON CONFLICT (content_id, kind) DO UPDATE SET version = excluded.version`, *content, f.Kind, f.Version)
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("configuration file %d: %w", f.Seq, err)
		}
	}
	return nil
}
