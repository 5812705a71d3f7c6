package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/auditor-dev/auditor/index"
)

// The work queue of a scan shared by several workers (migration 0006,
// docs/postgres.md): PostgreSQL is the queue, not a broker of auditor's
// own. Items are claimed with SELECT ... FOR UPDATE SKIP LOCKED under a
// lease that the claimer renews; a claim bumps the item's epoch, and a
// write carries the epoch it claimed with, so that a worker whose lease
// lapsed and was taken over cannot write (fencing). Leases are in the
// server's time (now()), never a worker's clock. What the items hold
// (Payload, Result) is the caller's encoding.

// Kinds of work items.
const (
	WorkLayer = 0 // a layer blob to read; key: its digest
	WorkImage = 1 // an image to store once its layers (deps) are done
)

// ErrLeaseLost is returned by a write of a worker whose claim on an item
// was taken over (its lease lapsed and another worker claimed the item):
// nothing of that write is stored.
var ErrLeaseLost = errors.New("the lease on this work was lost: another worker took it over")

// NewWork is an item to enqueue.
type NewWork struct {
	Kind    int
	Key     string
	Deps    []string // of an image: the digests of its layers to be read first
	Payload []byte
}

// Work is a claimed item.
type Work struct {
	ID      int64
	Kind    int
	Key     string
	Deps    []string
	Payload []byte
	Epoch   int64 // of this claim: writes carry it
	Claims  int   // how many times the item was claimed, this one included
}

// SharedScan is the scan record that the workers of one set of targets
// share.
type SharedScan struct {
	ID      int64
	Created bool // this call recorded it (the others joined it)
}

// JoinScan returns the open shared scan of targets (the label the workers
// were given, the same for all), recording it when there is none, with one
// planning per registry (plans: registry -> its targets, encoded). Two
// workers joining at once get the same scan.
func (db *DB) JoinScan(ctx context.Context, targets, version string, plans map[string][]byte) (SharedScan, error) {
	var s SharedScan
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('auditor-join:' || $1, 0))`, Text(targets)); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT scan_id FROM work_scans WHERE targets = $1 AND state = 'open'`, Text(targets)).Scan(&s.ID)
		if err == nil || !noRows(err) {
			return err
		}
		s.Created = true
		if err := tx.QueryRow(ctx, `INSERT INTO scans (started, status, targets, auditor_version) VALUES ($1, $2, $3, $4) RETURNING id`,
			db.now(), index.ScanRunning, Text(targets), Text(version)).Scan(&s.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO work_scans (scan_id, targets) VALUES ($1, $2)`, s.ID, Text(targets)); err != nil {
			return err
		}
		for reg, t := range plans {
			if _, err := tx.Exec(ctx, `INSERT INTO work_plans (scan_id, registry, targets) VALUES ($1, $2, $3)`, s.ID, Text(reg), t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SharedScan{}, fmt.Errorf("join the shared scan of %q: %w", targets, err)
	}
	return s, nil
}

// Plan is one registry's planning of a shared scan.
type Plan struct {
	Registry string
	Targets  []byte
}

// Unplanned returns the plannings of scan not done yet.
func (db *DB) Unplanned(ctx context.Context, scan int64) ([]Plan, error) {
	rows, err := db.pool.Query(ctx, `SELECT registry, targets FROM work_plans WHERE scan_id = $1 AND NOT planned ORDER BY registry`, scan)
	if err != nil {
		return nil, fmt.Errorf("scan %d: plans: %w", scan, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Plan, error) {
		var p Plan
		err := r.Scan(&p.Registry, &p.Targets)
		p.Registry = Bytes(p.Registry)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("scan %d: plans: %w", scan, err)
	}
	return out, nil
}

// RunPlan runs fn as the one planner of registry in scan, under a session
// advisory lock held on a connection of its own for as long as fn runs (a
// planner that dies loses it with its connection, and another worker plans
// the registry again: enqueueing is idempotent). It reports false, without
// running fn, when another worker holds the lock or the registry is
// planned already. When fn returns nil the planning is recorded as done,
// with the stats fn returned.
func (db *DB) RunPlan(ctx context.Context, scan int64, registry string, fn func(context.Context) ([]byte, error)) (bool, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	unlock, err := tryLock(ctx, conn, fmt.Sprintf("auditor-plan:%d:%s", scan, Text(registry)))
	if err != nil || unlock == nil {
		return false, err
	}
	defer unlock()
	var planned bool
	if err := conn.QueryRow(ctx, `SELECT planned FROM work_plans WHERE scan_id = $1 AND registry = $2`, scan, Text(registry)).Scan(&planned); err != nil {
		return false, fmt.Errorf("plan of %s: %w", registry, err)
	}
	if planned {
		return false, nil
	}
	stats, err := fn(ctx)
	if err != nil {
		return true, err
	}
	if _, err := conn.Exec(ctx, `UPDATE work_plans SET planned = true, stats = $3 WHERE scan_id = $1 AND registry = $2`, scan, Text(registry), stats); err != nil {
		return true, fmt.Errorf("plan of %s: %w", registry, err)
	}
	return true, nil
}

// PlanStats returns the stats of the plannings of scan done.
func (db *DB) PlanStats(ctx context.Context, scan int64) ([][]byte, error) {
	rows, err := db.pool.Query(ctx, `SELECT stats FROM work_plans WHERE scan_id = $1 AND planned ORDER BY registry`, scan)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[[]byte])
}

// Enqueue adds items to scan's queue; an item of the same kind and key
// enqueued already is left as it is.
func (db *DB) Enqueue(ctx context.Context, scan int64, items []NewWork) error {
	if len(items) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, it := range items {
			deps := it.Deps
			if deps == nil {
				deps = []string{}
			}
			b.Queue(`INSERT INTO work_items (scan_id, kind, key, deps, payload) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (scan_id, kind, key) DO NOTHING`, scan, it.Kind, Text(it.Key), deps, it.Payload)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("scan %d: enqueue: %w", scan, err)
	}
	return nil
}

// Claim claims an item of scan for owner, for lease: a pending one, or one
// whose claimer's lease lapsed (taken over), images whose layers are all
// done or failed first, then layers, each in the order enqueued. It
// returns nil when nothing can be claimed now.
func (db *DB) Claim(ctx context.Context, scan int64, owner string, lease time.Duration) (*Work, error) {
	var w Work
	err := db.pool.QueryRow(ctx, `WITH c AS (
		SELECT i.id FROM work_items i
		WHERE i.scan_id = $1 AND (i.state = 'pending' OR (i.state = 'claimed' AND i.lease_until < now()))
		  AND (i.kind = 0 OR NOT EXISTS (SELECT 1 FROM work_items l WHERE l.scan_id = i.scan_id AND l.kind = 0
		                                 AND l.key = ANY (i.deps) AND l.state IN ('pending', 'claimed')))
		ORDER BY i.kind DESC, i.id
		LIMIT 1 FOR UPDATE OF i SKIP LOCKED)
		UPDATE work_items w SET state = 'claimed', owner = $2, epoch = w.epoch + 1, claims = w.claims + 1,
			lease_until = now() + make_interval(secs => $3)
		FROM c WHERE w.id = c.id
		RETURNING w.id, w.kind, w.key, w.deps, w.payload, w.epoch, w.claims`,
		scan, Text(owner), lease.Seconds()).Scan(&w.ID, &w.Kind, &w.Key, &w.Deps, &w.Payload, &w.Epoch, &w.Claims)
	if noRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scan %d: claim: %w", scan, err)
	}
	w.Key = Bytes(w.Key)
	return &w, nil
}

// Renew extends the lease of a claimed item by lease from now; ErrLeaseLost
// when the item was claimed again since (or is no longer claimed).
func (db *DB) Renew(ctx context.Context, w *Work, lease time.Duration) error {
	tag, err := db.pool.Exec(ctx, `UPDATE work_items SET lease_until = now() + make_interval(secs => $3)
		WHERE id = $1 AND epoch = $2 AND state = 'claimed'`, w.ID, w.Epoch, lease.Seconds())
	if err != nil {
		return fmt.Errorf("work %d: renew: %w", w.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("work %d (%s): %w", w.ID, w.Key, ErrLeaseLost)
	}
	return nil
}

// Complete records a claimed item done with its result; ErrLeaseLost when
// it was claimed again since.
func (db *DB) Complete(ctx context.Context, w *Work, result []byte) error {
	return db.settle(ctx, w, "done", result, "")
}

// Fail records a claimed item failed, with why; ErrLeaseLost when it was
// claimed again since.
func (db *DB) Fail(ctx context.Context, w *Work, msg string) error {
	return db.settle(ctx, w, "failed", nil, msg)
}

func (db *DB) settle(ctx context.Context, w *Work, state string, result []byte, msg string) error {
	// The epoch is this claim's: a fenced layer commit may have set the
	// state already, in its own transaction.
	tag, err := db.pool.Exec(ctx, `UPDATE work_items SET state = $3, result = COALESCE($4, result), error = $5, lease_until = NULL
		WHERE id = $1 AND epoch = $2 AND state IN ('claimed', $3)`, w.ID, w.Epoch, state, result, nullStr(msg))
	if err != nil {
		return fmt.Errorf("work %d: record %s: %w", w.ID, state, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("work %d (%s): %w", w.ID, w.Key, ErrLeaseLost)
	}
	return nil
}

// fence is what a fenced layer writer checks in its transaction.
type fence struct {
	id, epoch int64
	result    []byte
}

// check marks the claimed item done in tx, or fails with ErrLeaseLost when
// it was claimed again since: the row lock it takes orders it with a
// takeover's claim (which skips a locked row, or waits and then finds it
// done).
func (f *fence) check(ctx context.Context, tx pgx.Tx) error {
	tag, err := tx.Exec(ctx, `UPDATE work_items SET state = 'done', result = $3, lease_until = NULL
		WHERE id = $1 AND epoch = $2 AND state = 'claimed'`, f.id, f.epoch, f.result)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("work %d: %w", f.id, ErrLeaseLost)
	}
	return nil
}

// BeginFencedLayer is BeginLayer for the claimed item w (a layer): its
// Commit writes the layer only while w's claim holds, and marks w done
// with result in the layer's own transaction; when w was claimed again
// since, it fails with ErrLeaseLost and nothing of the layer is stored.
func (db *DB) BeginFencedLayer(ctx context.Context, digest string, maxEntries int64, w *Work, result []byte) (*LayerWriter, error) {
	lw, err := db.beginLayer(ctx, digest, maxEntries)
	if err != nil {
		return nil, err
	}
	lw.fence = &fence{id: w.ID, epoch: w.Epoch, result: result}
	return lw, nil
}

// Progress counts a shared scan's items by state.
type Progress struct {
	Pending, Claimed, Done, Failed int64
	Unplanned                      int64 // registries not planned yet
}

// Drained reports whether every registry is planned and every item done
// or failed.
func (p Progress) Drained() bool { return p.Unplanned == 0 && p.Pending == 0 && p.Claimed == 0 }

// WorkProgress counts scan's items by state.
func (db *DB) WorkProgress(ctx context.Context, scan int64) (Progress, error) {
	var p Progress
	err := db.pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'claimed'),
		count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'failed'),
		(SELECT count(*) FROM work_plans WHERE scan_id = $1 AND NOT planned)
		FROM work_items WHERE scan_id = $1`, scan).Scan(&p.Pending, &p.Claimed, &p.Done, &p.Failed, &p.Unplanned)
	if err != nil {
		return Progress{}, fmt.Errorf("scan %d: progress: %w", scan, err)
	}
	return p, nil
}

// WorkResults returns the results of scan's done items of kind.
func (db *DB) WorkResults(ctx context.Context, scan int64, kind int) ([][]byte, error) {
	rows, err := db.pool.Query(ctx, `SELECT result FROM work_items WHERE scan_id = $1 AND kind = $2 AND state = 'done' AND result IS NOT NULL ORDER BY id`, scan, kind)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[[]byte])
}

// FailedLayers returns, of the digests given, those whose layer item of
// scan failed, with why.
func (db *DB) FailedLayers(ctx context.Context, scan int64, digests []string) (map[string]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT key, error FROM work_items WHERE scan_id = $1 AND kind = 0 AND state = 'failed' AND key = ANY ($2)`, scan, digests)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k string
		var msg *string
		if err := rows.Scan(&k, &msg); err != nil {
			return nil, err
		}
		if msg != nil {
			out[Bytes(k)] = Bytes(*msg)
		} else {
			out[Bytes(k)] = "failed"
		}
	}
	return out, rows.Err()
}

// Finisher runs fn as the one finisher of scan once its work is drained:
// under a session advisory lock on a connection of its own, only when the
// scan is still open; once fn returned, unless ctx ended, the scan is
// marked done (by owner), whatever fn returned. It reports whether fn ran. A worker that does not get the lock,
// or finds the scan done, returns false.
func (db *DB) Finisher(ctx context.Context, scan int64, owner string, fn func(context.Context) error) (bool, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	unlock, err := tryLock(ctx, conn, fmt.Sprintf("auditor-finish:%d", scan))
	if err != nil || unlock == nil {
		return false, err
	}
	defer unlock()
	var state string
	if err := conn.QueryRow(ctx, `SELECT state FROM work_scans WHERE scan_id = $1`, scan).Scan(&state); err != nil {
		return false, fmt.Errorf("scan %d: %w", scan, err)
	}
	if state != "open" {
		return false, nil
	}
	err = fn(ctx)
	if ctx.Err() != nil {
		return true, err // stopped: another worker ends the scan
	}
	// Done even when fn failed (the rules, say): its error is the
	// finisher's to report, and the others must not run it again.
	if _, uerr := conn.Exec(ctx, `UPDATE work_scans SET state = 'done', finisher = $2 WHERE scan_id = $1`, scan, Text(owner)); uerr != nil {
		return true, errors.Join(err, fmt.Errorf("scan %d: record done: %w", scan, uerr))
	}
	return true, err
}

// SharedScanDone reports whether scan's finisher has finished it.
func (db *DB) SharedScanDone(ctx context.Context, scan int64) (bool, error) {
	var state string
	if err := db.pool.QueryRow(ctx, `SELECT state FROM work_scans WHERE scan_id = $1`, scan).Scan(&state); err != nil {
		return false, fmt.Errorf("scan %d: %w", scan, err)
	}
	return state == "done", nil
}

// Heartbeat records that worker name of scan is alive now and returns how
// many of its workers were seen within alive (itself included).
func (db *DB) Heartbeat(ctx context.Context, scan int64, name string, alive time.Duration) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO work_workers (scan_id, name, seen) VALUES ($1, $2, now())
			ON CONFLICT (scan_id, name) DO UPDATE SET seen = now()`, scan, Text(name)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM work_workers WHERE scan_id = $1 AND seen > now() - make_interval(secs => $2)`,
			scan, alive.Seconds()).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("scan %d: heartbeat: %w", scan, err)
	}
	return n, nil
}

// Leave records that worker name of scan is gone.
func (db *DB) Leave(ctx context.Context, scan int64, name string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM work_workers WHERE scan_id = $1 AND name = $2`, scan, Text(name))
	return err
}

// tryLock takes the session advisory lock key names on conn, without
// waiting: it returns the function that releases it, or nil when another
// session holds it. The lock goes with the connection: a process that dies
// holding it loses it.
func tryLock(ctx context.Context, conn *pgxpool.Conn, key string) (func(), error) {
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&got); err != nil {
		return nil, fmt.Errorf("advisory lock %s: %w", key, err)
	}
	if !got {
		return nil, nil
	}
	return func() {
		conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
	}, nil
}

// HoldRegistry holds every worker's requests to host for d from now (in
// the server's time), by an open breaker or not, and why; a hold that ends
// later is kept (crawl.Politeness).
func (db *DB) HoldRegistry(ctx context.Context, host string, d time.Duration, breaker bool, why string) error {
	failures := 0
	if breaker {
		failures = 1
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO registry_politeness (registry, not_before, failures, reason)
		VALUES ($1, now() + make_interval(secs => $2), $3, $4)
		ON CONFLICT (registry) DO UPDATE SET not_before = excluded.not_before, failures = excluded.failures, reason = excluded.reason
		WHERE registry_politeness.not_before IS NULL OR registry_politeness.not_before < excluded.not_before`,
		Text(host), d.Seconds(), failures, Text(why))
	if err != nil {
		return fmt.Errorf("registry %s: hold: %w", host, err)
	}
	return nil
}

// RegistryHeld returns how much longer host is held (<= 0: it is not),
// whether by an open breaker, and why (crawl.Politeness).
func (db *DB) RegistryHeld(ctx context.Context, host string) (time.Duration, bool, string, error) {
	var secs float64
	var failures int
	var why *string
	err := db.pool.QueryRow(ctx, `SELECT EXTRACT(EPOCH FROM not_before - now())::float8, failures, reason
		FROM registry_politeness WHERE registry = $1 AND not_before > now()`, Text(host)).Scan(&secs, &failures, &why)
	if noRows(err) {
		return 0, false, "", nil
	}
	if err != nil {
		return 0, false, "", fmt.Errorf("registry %s: held: %w", host, err)
	}
	reason := ""
	if why != nil {
		reason = Bytes(*why)
	}
	return time.Duration(secs * float64(time.Second)), failures > 0, reason, nil
}
