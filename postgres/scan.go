package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
)

// BeginScan records the start of a scan and returns its id; scans left
// running by a process that died are marked interrupted first. (A layer a
// dead process was writing left nothing: its transaction was rolled back.)
func (db *DB) BeginScan(ctx context.Context, targets, version string) (int64, error) {
	var id int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE scans SET status = $1 WHERE status = $2`, index.ScanInterrupted, index.ScanRunning); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO scans (started, status, targets, auditor_version) VALUES ($1, $2, $3, $4) RETURNING id`,
			db.now(), index.ScanRunning, Text(targets), Text(version)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("begin scan: %w", err)
	}
	return id, nil
}

// FinishScan records a scan's end, status and counts.
func (db *DB) FinishScan(ctx context.Context, id int64, status string, s auditor.ScanStats) error {
	_, err := db.pool.Exec(ctx, `UPDATE scans SET finished = $1, status = $2, repositories = $3, tags = $4, images = $5,
		layers_read = $6, layers_skipped = $7, files = $8, bytes_read = $9, errors = $10 WHERE id = $11`,
		db.now(), status, s.Repositories, s.Tags, s.Images, s.LayersRead, s.LayersSkipped, s.Files, s.BytesRead, s.Errors, id)
	if err != nil {
		return fmt.Errorf("finish scan %d: %w", id, err)
	}
	db.mu.Lock()
	clear(db.entries)
	db.mu.Unlock()
	return nil
}

// AddScanError records a failure of scan id.
func (db *DB) AddScanError(ctx context.Context, id int64, e auditor.ScanError) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO scan_errors (scan_id, registry, repository, reference, layer_digest, message)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, nullStr(e.Registry), nullStr(e.Repository), nullStr(e.Reference), nullStr(e.LayerDigest), Text(e.Message))
	if err != nil {
		return fmt.Errorf("scan %d: record error: %w", id, err)
	}
	return nil
}

// ScanErrors returns the errors recorded for scan id, in the order they
// were recorded.
func (db *DB) ScanErrors(ctx context.Context, id int64) ([]auditor.ScanError, error) {
	rows, err := db.pool.Query(ctx, `SELECT COALESCE(registry, ''), COALESCE(repository, ''), COALESCE(reference, ''),
		COALESCE(layer_digest, ''), message FROM scan_errors WHERE scan_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("scan %d: errors: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auditor.ScanError, error) {
		var e auditor.ScanError
		err := r.Scan(&e.Registry, &e.Repository, &e.Reference, &e.LayerDigest, &e.Message)
		e.Registry, e.Repository, e.Reference, e.LayerDigest, e.Message = Bytes(e.Registry), Bytes(e.Repository), Bytes(e.Reference), Bytes(e.LayerDigest), Bytes(e.Message)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("scan %d: errors: %w", id, err)
	}
	return out, nil
}
