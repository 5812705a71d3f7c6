package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/queries"
)

// The rules' store (rules.Store): what a rules run reads and records, as
// the SQLite index does it (index/findings.go), here in PostgreSQL. Rule
// runs of several processes on one database record one after another: each
// of PrepareScopes and RecordFindings holds the transaction advisory lock
// rulesLock.

// rulesLock is the key of the advisory lock of rules runs.
const rulesLock = 0x61756469746f73 // "auditos"

// LatestScan returns the id of the newest scan, or 0 if there is none.
func (db *DB) LatestScan(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := db.pool.QueryRow(ctx, `SELECT max(id) FROM scans`).Scan(&id); err != nil {
		return 0, fmt.Errorf("latest scan: %w", err)
	}
	return id.Int64, nil
}

// RuleConn returns a read handle on one connection, for one worker
// evaluating rules, and its release.
func (db *DB) RuleConn(ctx context.Context) (queries.Querier, func(), error) {
	c, err := db.r.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("rules: connection: %w", err)
	}
	return TranslatingQuerier(c), func() { c.Close() }, nil
}

// MaxReaders is how many connections the pool has.
func (db *DB) MaxReaders() int { return int(db.pool.Config().MaxConns) }

// RecordFleetFiles is index.DB.RecordFleetFiles: the images and the
// (path, sha256) of regular files under prefixes first seen in scanID
// (0 for the baseline, before any image was recorded).
func (db *DB) RecordFleetFiles(ctx context.Context, scanID int64, prefixes []string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, rulesLock); err != nil {
			return err
		}
		var recorded bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fleet_manifests)`).Scan(&recorded); err != nil {
			return err
		}
		first := scanID
		if !recorded {
			first = 0
		}
		texts := make([]string, len(prefixes))
		for i, p := range prefixes {
			texts[i] = Text(p)
		}
		for _, q := range []string{
			`CREATE TEMP TABLE fleet_fresh ON COMMIT DROP AS
			SELECT DISTINCT ml.layer_id AS id FROM manifests m
			JOIN manifest_layers ml ON ml.manifest_id = m.id
			WHERE m.indexed_at IS NOT NULL AND NOT m.is_index AND ml.layer_id NOT IN (SELECT layer_id FROM fleet_layers)`,
			`INSERT INTO fleet_contents (path_id, content_id, first_scan)
			SELECT DISTINCT e.path_id, e.content_id, $1::bigint FROM fleet_fresh f
			JOIN entries e ON e.layer_id = f.id
			JOIN paths p ON p.id = e.path_id
			WHERE e.type = 0 AND e.content_id IS NOT NULL
			  AND EXISTS (SELECT 1 FROM unnest($2::text[]) AS d(prefix) WHERE starts_with(p.path, d.prefix))
			ON CONFLICT DO NOTHING`,
			`INSERT INTO fleet_layers (layer_id, first_scan) SELECT id, $1::bigint FROM fleet_fresh`,
			`INSERT INTO fleet_manifests (manifest_id, first_scan)
			SELECT id, $1::bigint FROM manifests WHERE indexed_at IS NOT NULL AND NOT is_index
			  AND id NOT IN (SELECT manifest_id FROM fleet_manifests)`,
		} {
			var args []any
			switch {
			case !containsParam(q, "$1"):
			case containsParam(q, "$2"):
				args = []any{first, texts}
			default:
				args = []any{first}
			}
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return err
			}
		}
		return recordDrift(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("scan %d: record fleet files: %w", scanID, err)
	}
	return nil
}

// recordDrift is index's: it brings fleet_drift_counts up to date with the
// indexed images, adding those not counted yet, or counting every image
// again when one counted was indexed again or is gone.
func recordDrift(ctx context.Context, tx pgx.Tx) error {
	visible, _, err := Translate(index.DriftVisible, nil)
	if err != nil {
		return fmt.Errorf("fleet drift: %w", err)
	}
	var stale bool
	if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM fleet_drift_manifests)
		OR EXISTS (SELECT 1 FROM fleet_drift_manifests d LEFT JOIN manifests m ON m.id = d.manifest_id
		           WHERE m.id IS NULL OR m.indexed_at IS NULL OR m.indexed_at <> d.indexed_at)`).Scan(&stale); err != nil {
		return fmt.Errorf("fleet drift: %w", err)
	}
	var qs []string
	if stale {
		qs = append(qs, `DELETE FROM fleet_drift_counts`, `DELETE FROM fleet_drift_manifests`)
	}
	qs = append(qs, `CREATE TEMP TABLE drift_fresh ON COMMIT DROP AS
		SELECT m.id, m.digest, m.indexed_at FROM manifests m
		WHERE m.indexed_at IS NOT NULL AND NOT m.is_index
		  AND EXISTS (SELECT 1 FROM repo_manifests rm WHERE rm.manifest_id = m.id)
		  AND m.id NOT IN (SELECT manifest_id FROM fleet_drift_manifests)`,
		`ANALYZE drift_fresh`,
		`INSERT INTO fleet_drift_counts (base_id, path_id, content_id, images)
		SELECT b.layer_id, p.id, COALESCE(c.id, 0), count(*)
		FROM (`+visible+`) v
		JOIN drift_fresh n ON n.digest = v.image_digest
		JOIN manifest_layers b ON b.manifest_id = n.id AND b.position = 0
		JOIN paths p ON p.path = v.path
		LEFT JOIN contents c ON c.sha256 = v.sha256
		GROUP BY b.layer_id, p.id, COALESCE(c.id, 0)
		ON CONFLICT (base_id, path_id, content_id) DO UPDATE SET images = fleet_drift_counts.images + excluded.images`,
		`INSERT INTO fleet_drift_manifests (manifest_id, indexed_at) SELECT id, indexed_at FROM drift_fresh`)
	for _, q := range qs {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("fleet drift: %w", err)
		}
	}
	return nil
}

func containsParam(q, p string) bool {
	for i := 0; i+len(p) <= len(q); i++ {
		if q[i:i+len(p)] == p && (i+len(p) == len(q) || q[i+len(p)] < '0' || q[i+len(p)] > '9') {
			return true
		}
	}
	return false
}

// imageStamps is index's CTE (every indexed image manifest with a stamp
// that changes when its rows do): PostgreSQL reads the same tables.
const imageStamps = index.ImageStamps

// fillUntagged makes the temporary table untagged_images (dropped at
// commit) hold the image manifests tags pointed at and no current tag
// points at any more (index's CTE).
func fillUntagged(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE untagged_images ON COMMIT DROP AS WITH `+index.UntaggedImages+` SELECT digest FROM untagged`); err != nil {
		return fmt.Errorf("untagged images: %w", err)
	}
	return nil
}

// PrepareScopes is index.DB.PrepareScopes: for each scoped rule, the
// images a run evaluates it on (rule_scope), and how many.
func (db *DB) PrepareScopes(ctx context.Context, rules []index.RuleEval, full bool) (map[string]int, error) {
	out := map[string]int{}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, rulesLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM rule_scope`); err != nil {
			return err
		}
		if err := fillUntagged(ctx, tx); err != nil {
			return err
		}
		for _, r := range rules {
			if !r.Scoped {
				continue
			}
			tag, err := tx.Exec(ctx, `WITH `+imageStamps+`
				INSERT INTO rule_scope (rule_id, image_digest)
				SELECT $1, s.digest FROM stamps s
				LEFT JOIN rule_image_evals e ON e.rule_id = $1 AND e.image_digest = s.digest
				WHERE ($3 OR e.image_digest IS NULL OR e.version <> $2 OR e.stamp <> s.stamp)
				  AND s.digest NOT IN (SELECT digest FROM untagged_images)`, r.RuleID, r.Version, full)
			if err != nil {
				return fmt.Errorf("rule %s: %w", r.RuleID, err)
			}
			out[r.RuleID] = int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rule scopes: %w", err)
	}
	return out, nil
}

// RecordFindings is index.DB.RecordFindings: a rules run for scanID, in
// one transaction, with the same states (new, open, resolved, carried
// over, suppressed).
func (db *DB) RecordFindings(ctx context.Context, scanID int64, run index.RulesRun) (index.FindingCounts, error) {
	var c index.FindingCounts
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, rulesLock); err != nil {
			return err
		}
		for _, q := range []string{
			`CREATE TEMP TABLE run_findings (fingerprint text PRIMARY KEY) ON COMMIT DROP`,
			`CREATE TEMP TABLE run_rules (rule_id text PRIMARY KEY, version text NOT NULL, scoped boolean NOT NULL) ON COMMIT DROP`,
			`CREATE TEMP TABLE run_set (name text PRIMARY KEY) ON COMMIT DROP`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		if err := fillUntagged(ctx, tx); err != nil {
			return err
		}
		untagged := map[string]bool{}
		rows, err := tx.Query(ctx, `SELECT digest FROM untagged_images`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d string
			if err := rows.Scan(&d); err != nil {
				rows.Close()
				return err
			}
			untagged[d] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, f := range run.Findings {
			if untagged[f.ImageDigest] {
				continue
			}
			b.Queue(`INSERT INTO finding_rows (fingerprint, rule_id, severity, title, image_digest,
				layer_digest, path, detail, first_seen, last_seen, new_in, suppressed, suppressed_until)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, $10, $11)
				ON CONFLICT (fingerprint) DO UPDATE SET severity = excluded.severity, title = excluded.title,
					last_seen = greatest(finding_rows.last_seen, excluded.last_seen),
					new_in = CASE WHEN finding_rows.resolved_in IS NOT NULL AND finding_rows.resolved_in <= excluded.last_seen THEN excluded.last_seen
					              WHEN finding_rows.suppressed IS NOT NULL AND excluded.suppressed IS NULL THEN excluded.last_seen
					              ELSE finding_rows.new_in END,
					resolved_in = NULL, suppressed = excluded.suppressed, suppressed_until = excluded.suppressed_until`,
				f.Fingerprint, f.RuleID, f.Severity, Text(f.Title), f.ImageDigest, nullStr(f.LayerDigest),
				nullStr(f.Path), Text(f.Detail), scanID, nullStr(f.Suppressed), nullStr(f.SuppressedUntil))
			b.Queue(`INSERT INTO run_findings (fingerprint) VALUES ($1) ON CONFLICT DO NOTHING`, f.Fingerprint)
		}
		for _, r := range run.Resuppress {
			b.Queue(`UPDATE finding_rows SET suppressed = $1, suppressed_until = $2,
				new_in = CASE WHEN suppressed IS NOT NULL AND $1::text IS NULL THEN $4 ELSE new_in END WHERE fingerprint = $3`,
				nullStr(r.Reason), nullStr(r.Until), r.Fingerprint, scanID)
		}
		for _, r := range run.Evaluated {
			b.Queue(`INSERT INTO run_rules (rule_id, version, scoped) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, r.RuleID, r.Version, r.Scoped)
		}
		for _, r := range run.Rules {
			b.Queue(`INSERT INTO run_set (name) VALUES ($1) ON CONFLICT DO NOTHING`, r)
		}
		for _, q := range []string{
			// Resolve the findings of rules no longer in the set, and
			// forget what they were evaluated on.
			`UPDATE finding_rows SET resolved_in = $1
			WHERE resolved_in IS NULL AND rule_id NOT IN (SELECT name FROM run_set)`,
			`DELETE FROM rule_image_evals WHERE rule_id NOT IN (SELECT name FROM run_set)`,
			// Resolve the findings of images no current tag points at.
			`UPDATE finding_rows SET resolved_in = $1
			WHERE resolved_in IS NULL AND image_digest IN (SELECT digest FROM untagged_images)`,
			`DELETE FROM rule_image_evals WHERE image_digest IN (SELECT digest FROM untagged_images)`,
			// Resolve what was evaluated and not returned.
			`UPDATE finding_rows SET resolved_in = $1
			WHERE resolved_in IS NULL AND fingerprint NOT IN (SELECT fingerprint FROM run_findings)
			  AND (rule_id IN (SELECT rule_id FROM run_rules WHERE NOT scoped)
			       OR EXISTS (SELECT 1 FROM rule_scope s JOIN run_rules r ON r.rule_id = s.rule_id AND r.scoped
			                  WHERE s.rule_id = finding_rows.rule_id AND s.image_digest = finding_rows.image_digest))`,
			// Carry over the findings of images out of a scoped rule's scope.
			`UPDATE finding_rows SET last_seen = $1
			WHERE resolved_in IS NULL AND last_seen < $1 AND rule_id IN (SELECT rule_id FROM run_rules WHERE scoped)`,
			// Remember what scoped rules were evaluated on.
			`WITH ` + imageStamps + `
			INSERT INTO rule_image_evals (rule_id, image_digest, version, stamp)
			SELECT s.rule_id, s.image_digest, r.version, st.stamp FROM rule_scope s
			JOIN run_rules r ON r.rule_id = s.rule_id AND r.scoped
			JOIN stamps st ON st.digest = s.image_digest
			WHERE s.image_digest NOT IN (SELECT digest FROM untagged_images)
			ON CONFLICT (rule_id, image_digest) DO UPDATE SET version = excluded.version, stamp = excluded.stamp`,
		} {
			if containsParam(q, "$1") {
				b.Queue(q, scanID)
			} else {
				b.Queue(q)
			}
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE new_in = $1),
			count(*) FILTER (WHERE suppressed IS NOT NULL), count(*) FILTER (WHERE new_in = $1 AND suppressed IS NOT NULL)
			FROM finding_rows WHERE resolved_in IS NULL AND rule_id IN (SELECT rule_id FROM run_rules)`, scanID).
			Scan(&c.Findings, &c.New, &c.Suppressed, &c.NewSuppressed); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM finding_rows WHERE resolved_in = $1`, scanID).Scan(&c.Resolved); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO rule_evals (scan_id, started, finished, rules, findings, new, resolved)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (scan_id) DO UPDATE SET started = excluded.started, finished = excluded.finished, rules = excluded.rules,
				findings = excluded.findings, new = excluded.new, resolved = excluded.resolved`,
			scanID, run.Started, db.now(), len(run.Evaluated), c.Findings, c.New, c.Resolved)
		return err
	})
	if err != nil {
		return c, fmt.Errorf("scan %d: record findings: %w", scanID, err)
	}
	return c, nil
}
