package index

import (
	"context"
	"database/sql"
	"fmt"
)

// Scan statuses, as stored in scans.status.
const (
	ScanRunning     = "running"
	ScanOK          = "ok"          // everything indexed
	ScanErrors      = "errors"      // finished; some images or layers failed (see scan_errors)
	ScanFailed      = "failed"      // stopped by an error before finishing
	ScanInterrupted = "interrupted" // stopped by a signal or cancellation
)

// BeginScan records the start of a scan and returns its id. Scans left
// "running" by a process that died are marked interrupted first, and the
// rows of layers it left half written are removed: call it under the scan
// lock (LockScan), with no layer being written.
func (db *DB) BeginScan(ctx context.Context, targets, version string) (int64, error) {
	var id int64
	db.mu.Lock()
	defer db.mu.Unlock()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := dropAllPending(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE scans SET status = ? WHERE status = ?`, ScanInterrupted, ScanRunning); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO scans (started, status, targets, auditor_version) VALUES (?, ?, ?, ?) RETURNING id`,
			db.now(), ScanRunning, targets, version).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("begin scan: %w", err)
	}
	db.findDeferred.Store(true)
	return id, nil
}

// FinishScan records a scan's end, status and counts, in one transaction
// with the errors AddScanError could not write (a full disk) and after
// removing the rows of layers left unfinished, which frees their space for
// it: call it under the scan lock, with no layer being written. It runs
// even when the scan's own context was cancelled, so pass a live ctx. When
// it fails, for a full disk (IsFull) say, nothing is lost: calling it again
// once there is space records the same.
func (db *DB) FinishScan(ctx context.Context, id int64, status string, s ScanStats) error {
	db.unrecordedMu.Lock()
	errs := db.unrecorded[id]
	db.unrecordedMu.Unlock()
	db.mu.Lock()
	defer db.mu.Unlock()
	db.findDeferred.Store(false) // this transaction rebuilds what the scan made stale
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := dropAllPending(ctx, tx); err != nil {
			return err
		}
		for _, e := range errs {
			if err := addScanError(ctx, tx, id, e); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE scans SET finished = ?, status = ?, repositories = ?, tags = ?, images = ?,
			layers_read = ?, layers_skipped = ?, files = ?, bytes_read = ?, errors = ? WHERE id = ?`,
			db.now(), status, s.Repositories, s.Tags, s.Images, s.LayersRead, s.LayersSkipped, s.Files, s.BytesRead, s.Errors, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish scan %d: %w", id, err)
	}
	db.unrecordedMu.Lock()
	delete(db.unrecorded, id)
	db.unrecordedMu.Unlock()
	// What only speeds up a scan's writes is dropped: the rules run next.
	db.entries.clear()
	db.prefixes.clear()
	return nil
}

// AddScanError records a failure of scan id. An error it cannot write (the
// disk is full) is kept, and FinishScan writes it.
func (db *DB) AddScanError(ctx context.Context, id int64, e ScanError) error {
	if err := addScanError(ctx, db.w, id, e); err != nil {
		db.noteFull(err)
		db.unrecordedMu.Lock()
		if db.unrecorded == nil {
			db.unrecorded = map[int64][]ScanError{}
		}
		db.unrecorded[id] = append(db.unrecorded[id], e)
		db.unrecordedMu.Unlock()
		return fmt.Errorf("scan %d: record error (kept for the scan's end): %w", id, err)
	}
	return nil
}

// addScanError inserts a scan_errors row through the writer or a
// transaction of it.
func addScanError(ctx context.Context, w interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, id int64, e ScanError) error {
	_, err := w.ExecContext(ctx, `INSERT INTO scan_errors (scan_id, registry, repository, reference, layer_digest, message)
		VALUES (?, ?, ?, ?, ?, ?)`, id, nullStr(e.Registry), nullStr(e.Repository), nullStr(e.Reference), nullStr(e.LayerDigest), e.Message)
	return err
}
