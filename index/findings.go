package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Finding is one row a rule returned, as the rules package records it.
type Finding struct {
	Fingerprint     string // stable: hash of rule id, image, layer, path and detail
	RuleID          string
	Severity        string
	Title           string
	ImageDigest     string
	LayerDigest     string // "" for none
	Path            string // "" for an image-level finding
	Detail          string
	Suppressed      string // the reason of the suppression that applies, or ""
	SuppressedUntil string // its expiry (YYYY-MM-DD), or ""
}

// FindingCounts sums up a rules run.
type FindingCounts struct {
	Findings int64 // returned by the rules evaluated
	New      int64 // of which first seen (or seen again after resolution) in this scan
	Resolved int64 // findings of the rules evaluated that were not returned any more
}

// LatestScan returns the id of the newest scan, or 0 if there is none.
func (db *DB) LatestScan(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := db.r.QueryRowContext(ctx, `SELECT MAX(id) FROM scans`).Scan(&id); err != nil {
		return 0, fmt.Errorf("latest scan: %w", err)
	}
	return id.Int64, nil
}

// RecordFleetFiles notes, for the "new to the fleet" signal (the
// file_history view), every (path, sha256) of a regular file under one of
// prefixes (e.g. "/usr/bin/") in layers no earlier call recorded, as first
// seen in scanID. The first call ever records everything as the baseline
// (first_scan 0). Its cost grows with the layers added since the last call.
func (db *DB) RecordFleetFiles(ctx context.Context, scanID int64, prefixes []string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var recorded bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM fleet_layers)`).Scan(&recorded); err != nil {
			return err
		}
		first := scanID
		if !recorded {
			first = 0
		}
		var conds []string
		var args []any
		args = append(args, first)
		for _, p := range prefixes {
			conds = append(conds, `substr(p.path, 1, ?) = ?`)
			args = append(args, len(p), p)
		}
		if len(conds) == 0 {
			conds = []string{"0"}
		}
		q := `INSERT INTO fleet_contents (path_id, content_id, first_scan)
			SELECT DISTINCT e.path_id, e.content_id, ? FROM layers l
			JOIN entries e ON e.layer_id = l.id AND e.id BETWEEN l.first_entry AND l.last_entry
			JOIN paths p ON p.id = e.path_id
			WHERE l.id NOT IN (SELECT layer_id FROM fleet_layers) AND e.type = 0 AND e.content_id IS NOT NULL
			  AND (` + strings.Join(conds, " OR ") + `)
			ON CONFLICT DO NOTHING`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO fleet_layers (layer_id, first_scan)
			SELECT id, ? FROM layers WHERE id NOT IN (SELECT layer_id FROM fleet_layers)`, first)
		return err
	})
	if err != nil {
		return fmt.Errorf("scan %d: record fleet files: %w", scanID, err)
	}
	return nil
}

// RecordFindings records a rules run for scanID in one transaction: every
// finding returned (new ones get first_seen scanID; known ones get
// last_seen scanID, and become new again if they were resolved), and, for
// the rules in evaluated, every unresolved finding not returned now is
// resolved in scanID. Findings of rules not evaluated keep their state.
// Recording the same scan again replaces that run's outcome.
func (db *DB) RecordFindings(ctx context.Context, scanID int64, evaluated []string, started string, fs []Finding) (FindingCounts, error) {
	var c FindingCounts
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`CREATE TEMP TABLE IF NOT EXISTS run_findings (fingerprint TEXT PRIMARY KEY)`,
			`CREATE TEMP TABLE IF NOT EXISTS run_rules (rule_id TEXT PRIMARY KEY)`,
			`DELETE FROM run_findings`, `DELETE FROM run_rules`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		put, err := tx.PrepareContext(ctx, `INSERT INTO finding_rows (fingerprint, rule_id, severity, title, image_digest,
			layer_digest, path, detail, first_seen, last_seen, new_in, suppressed, suppressed_until)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?9, ?10, ?11)
			ON CONFLICT (fingerprint) DO UPDATE SET severity = excluded.severity, title = excluded.title,
				last_seen = MAX(last_seen, excluded.last_seen),
				new_in = CASE WHEN resolved_in IS NOT NULL AND resolved_in <= excluded.last_seen THEN excluded.last_seen ELSE new_in END,
				resolved_in = NULL, suppressed = excluded.suppressed, suppressed_until = excluded.suppressed_until`)
		if err != nil {
			return err
		}
		defer put.Close()
		mark, err := tx.PrepareContext(ctx, `INSERT INTO run_findings (fingerprint) VALUES (?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer mark.Close()
		for _, f := range fs {
			if _, err := put.ExecContext(ctx, f.Fingerprint, f.RuleID, f.Severity, f.Title, f.ImageDigest, nullStr(f.LayerDigest),
				nullStr(f.Path), f.Detail, scanID, nullStr(f.Suppressed), nullStr(f.SuppressedUntil)); err != nil {
				return fmt.Errorf("finding %s of rule %s: %w", f.Fingerprint, f.RuleID, err)
			}
			if _, err := mark.ExecContext(ctx, f.Fingerprint); err != nil {
				return err
			}
		}
		for _, id := range evaluated {
			if _, err := tx.ExecContext(ctx, `INSERT INTO run_rules (rule_id) VALUES (?) ON CONFLICT DO NOTHING`, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE finding_rows SET resolved_in = ?
			WHERE resolved_in IS NULL AND rule_id IN (SELECT rule_id FROM run_rules)
			  AND fingerprint NOT IN (SELECT fingerprint FROM run_findings)`, scanID)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*), COALESCE(SUM(f.new_in = ?), 0) FROM run_findings r
			JOIN finding_rows f ON f.fingerprint = r.fingerprint`, scanID).Scan(&c.Findings, &c.New); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM finding_rows WHERE resolved_in = ?`, scanID).Scan(&c.Resolved); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO rule_evals (scan_id, started, finished, rules, findings, new, resolved)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (scan_id) DO UPDATE SET started = excluded.started, finished = excluded.finished, rules = excluded.rules,
				findings = excluded.findings, new = excluded.new, resolved = excluded.resolved`,
			scanID, started, db.now(), len(evaluated), c.Findings, c.New, c.Resolved)
		return err
	})
	if err != nil {
		return c, fmt.Errorf("scan %d: record findings: %w", scanID, err)
	}
	return c, nil
}

// ErrNoScan is returned when the index holds no scan to evaluate rules for.
var ErrNoScan = errors.New("the index holds no scan: run auditor scan first")
