package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
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

// Suppression sets which suppression applies to a recorded finding.
type Suppression struct {
	Fingerprint string
	Reason      string // "" for none
	Until       string // its expiry (YYYY-MM-DD), or ""
}

// FindingCounts sums up a rules run.
type FindingCounts struct {
	Findings int64 // open findings of the rules evaluated (returned, or carried over)
	New      int64 // of which first seen (or seen again after resolution) in this scan
	Resolved int64 // findings of the rules evaluated that were not returned any more
	// Suppressed and NewSuppressed are the suppressed ones among Findings
	// and New: recorded, but never reported as new nor failing a run.
	Suppressed, NewSuppressed int64
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
// file_history and fleet_images views), the indexed images no earlier call
// recorded and every (path, sha256) of a regular file under one of prefixes
// (e.g. "/usr/bin/") in their layers not recorded yet, as first seen in
// scanID. Until a call has recorded an image, everything is recorded as the
// baseline (first_scan 0): the first scan that indexes an image sets it.
// Layers of no indexed image (their image failed) wait for one. Its cost
// grows with the layers added since the last call.
func (db *DB) RecordFleetFiles(ctx context.Context, scanID int64, prefixes []string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var recorded bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM fleet_manifests)`).Scan(&recorded); err != nil {
			return err
		}
		first := scanID
		if !recorded {
			first = 0
		}
		for _, q := range []string{`CREATE TEMP TABLE IF NOT EXISTS fleet_fresh (id INTEGER PRIMARY KEY)`, `DELETE FROM temp.fleet_fresh`,
			`INSERT INTO temp.fleet_fresh (id) SELECT DISTINCT ml.layer_id FROM manifests m
			JOIN manifest_layers ml ON ml.manifest_id = m.id
			WHERE m.indexed_at IS NOT NULL AND m.is_index = 0 AND ml.layer_id NOT IN (SELECT layer_id FROM fleet_layers)`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		var fresh, all int64
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM temp.fleet_fresh), (SELECT count(*) FROM layers)`).Scan(&fresh, &all); err != nil {
			return err
		}
		q, args := fleetFilesByLayer(prefixes)
		if fresh*4 >= all {
			// Most layers are new (a first run): read the paths under the
			// prefixes through the path index, not every new entry.
			q, args = fleetFilesByPath(prefixes)
		}
		if _, err := tx.ExecContext(ctx, q, append([]any{first}, args...)...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO fleet_layers (layer_id, first_scan) SELECT id, ? FROM temp.fleet_fresh`, first); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO fleet_manifests (manifest_id, first_scan)
			SELECT id, ? FROM manifests WHERE indexed_at IS NOT NULL AND is_index = 0
			  AND id NOT IN (SELECT manifest_id FROM fleet_manifests)`, first); err != nil {
			return err
		}
		return recordDrift(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("scan %d: record fleet files: %w", scanID, err)
	}
	return nil
}

// DriftPaths is the condition on a path f.path of the system paths
// system-binary-fleet-drift judges (rules/default/07-drift.toml), in
// SQLite's dialect: what fleet_drift counts.
const DriftPaths = `(f.path LIKE '/bin/%' OR f.path LIKE '/sbin/%' OR f.path LIKE '/usr/bin/%' OR f.path LIKE '/usr/sbin/%'
	OR f.path LIKE '/lib%/%' OR f.path LIKE '/usr/lib%/%')`

// DriftStale is a query: whether fleet_drift must be counted again from
// scratch (nothing counted yet, or an image counted was indexed again, is
// not indexed any more or is gone).
const DriftStale = `SELECT NOT EXISTS (SELECT 1 FROM fleet_drift_manifests)
	OR EXISTS (SELECT 1 FROM fleet_drift_manifests d LEFT JOIN manifests m ON m.id = d.manifest_id
	           WHERE m.id IS NULL OR m.indexed_at IS NULL OR m.indexed_at != d.indexed_at)`

// DriftFresh is a query: the image manifests fleet_drift has not counted
// (indexed, held by a repository, as image_files shows them).
const DriftFresh = `SELECT m.id, m.digest, m.indexed_at FROM manifests m
	WHERE m.indexed_at IS NOT NULL AND m.is_index = 0
	  AND EXISTS (SELECT 1 FROM repo_manifests rm WHERE rm.manifest_id = m.id)
	  AND m.id NOT IN (SELECT manifest_id FROM fleet_drift_manifests)`

// DriftVisible is a query over the public views: the visible system files
// of the images whose digests the table drift_fresh (column digest) holds,
// one row per image, path and sha256, as fleet_drift counts them.
const DriftVisible = `SELECT DISTINCT f.image_digest, f.path, f.sha256 FROM image_files f
	WHERE f.image_digest IN (SELECT digest FROM drift_fresh) AND f.visible = 1 AND f.type IN ('file', 'hardlink')
	  AND ` + DriftPaths

// recordDrift brings fleet_drift_counts up to date with the indexed images:
// it adds the images not counted yet, or counts every image again when
// DriftStale says so.
func recordDrift(ctx context.Context, tx *sql.Tx) error {
	var stale bool
	if err := tx.QueryRowContext(ctx, DriftStale).Scan(&stale); err != nil {
		return fmt.Errorf("fleet drift: %w", err)
	}
	var qs []string
	if stale {
		qs = append(qs, `DELETE FROM fleet_drift_counts`, `DELETE FROM fleet_drift_manifests`)
	}
	qs = append(qs, `CREATE TEMP TABLE IF NOT EXISTS drift_fresh (id INTEGER PRIMARY KEY, digest TEXT NOT NULL UNIQUE, indexed_at TEXT NOT NULL)`,
		`DELETE FROM temp.drift_fresh`,
		`INSERT INTO temp.drift_fresh (id, digest, indexed_at) `+DriftFresh,
		// The base layer and ids of each row; ON CONFLICT needs the WHERE
		// of the SELECT (SQLite's parsing of an upsert).
		`INSERT INTO fleet_drift_counts (base_id, path_id, content_id, images)
		SELECT b.layer_id, p.id, COALESCE(c.id, 0), count(*)
		FROM (`+DriftVisible+`) v
		JOIN temp.drift_fresh n ON n.digest = v.image_digest
		JOIN manifest_layers b ON b.manifest_id = n.id AND b.position = 0
		JOIN paths p ON p.path = v.path
		LEFT JOIN contents c ON c.sha256 = v.sha256
		WHERE 1
		GROUP BY b.layer_id, p.id, COALESCE(c.id, 0)
		ON CONFLICT (base_id, path_id, content_id) DO UPDATE SET images = images + excluded.images`,
		`INSERT INTO fleet_drift_manifests (manifest_id, indexed_at) SELECT id, indexed_at FROM temp.drift_fresh`)
	for _, q := range qs {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("fleet drift: %w", err)
		}
	}
	return nil
}

// fleetFilesByLayer is the query of RecordFleetFiles that reads the
// entries of the layers to record (temp.fleet_fresh), testing each one's
// path against the prefixes: cheapest when few layers are new. Its first
// parameter is first_scan.
func fleetFilesByLayer(prefixes []string) (string, []any) {
	var conds []string
	var args []any
	for _, p := range prefixes {
		conds = append(conds, `substr(p.path, 1, ?) = ?`)
		args = append(args, len(p), p)
	}
	if len(conds) == 0 {
		conds = []string{"0"}
	}
	return `INSERT INTO fleet_contents (path_id, content_id, first_scan)
		SELECT DISTINCT e.path_id, e.content_id, ? FROM layers l
		JOIN entries e ON e.layer_id = l.id AND e.id BETWEEN l.first_entry AND l.last_entry
		JOIN paths p ON p.id = e.path_id
		WHERE l.id IN (SELECT id FROM temp.fleet_fresh) AND e.type = 0 AND e.content_id IS NOT NULL
		  AND (` + strings.Join(conds, " OR ") + `)
		ON CONFLICT DO NOTHING`, args
}

// fleetFilesByPath is fleetFilesByLayer's query reading instead the paths
// under each prefix (a range of the path index: those from the prefix up to
// the prefix with its last byte incremented), then their entries in the
// layers to record: cheapest when most layers are new. It selects the same
// rows for prefixes of ASCII characters (where substr's characters are
// bytes); others fall back to fleetFilesByLayer.
func fleetFilesByPath(prefixes []string) (string, []any) {
	var rows []string
	var args []any
	for _, p := range prefixes {
		if p == "" || strings.ContainsFunc(p, func(r rune) bool { return r >= utf8.RuneSelf || r == 0x7f }) {
			return fleetFilesByLayer(prefixes)
		}
		rows = append(rows, fmt.Sprintf("(?%d, ?%d)", len(args)+2, len(args)+3))
		args = append(args, p, p[:len(p)-1]+string(p[len(p)-1]+1))
	}
	if len(rows) == 0 {
		return fleetFilesByLayer(prefixes)
	}
	return `WITH dirs (lo, hi) AS (VALUES ` + strings.Join(rows, ", ") + `)
		INSERT INTO fleet_contents (path_id, content_id, first_scan)
		SELECT DISTINCT e.path_id, e.content_id, ?1 FROM dirs d
		CROSS JOIN paths p ON p.path >= d.lo AND p.path < d.hi
		JOIN entries e ON e.path_id = p.id
		JOIN layers l ON l.id = e.layer_id AND e.id BETWEEN l.first_entry AND l.last_entry
		WHERE l.id IN (SELECT id FROM temp.fleet_fresh) AND e.type = 0 AND e.content_id IS NOT NULL
		ON CONFLICT DO NOTHING`, args
}

// RuleEval names a rule a rules run evaluated.
type RuleEval struct {
	RuleID  string
	Version string // changes when the rule does
	// Scoped rules judge each image on its own rows only: a run evaluates
	// them on the images PrepareScopes put in their scope, and carries the
	// findings of the other images over.
	Scoped bool
}

// imageStamps is a CTE: every indexed image manifest with a stamp that
// changes when its rows do (re-indexed, or its layers read again by a new
// version of a per-layer scanner, such as other content patterns).
const imageStamps = `stamps AS (
	SELECT m.digest, m.indexed_at || '|' || COALESCE((SELECT MAX(c.scanned_at) FROM manifest_layers ml
		JOIN layer_scanners c ON c.layer_id = ml.layer_id WHERE ml.manifest_id = m.id), '') AS stamp
	FROM manifests m WHERE m.is_index = 0 AND m.indexed_at IS NOT NULL)`

// untaggedImages is a CTE: the image manifests tags pointed at (directly or
// through an index) and no current tag points at any more, their tags
// moved away or deleted. Rules runs resolve their findings and skip them.
const untaggedImages = `untagged AS (
	SELECT m.digest FROM manifests m
	WHERE m.is_index = 0
	  AND EXISTS (SELECT 1 FROM tag_history t WHERE t.digest = m.digest
	              UNION ALL
	              SELECT 1 FROM repo_manifests rm
	              JOIN tag_history t ON t.repository_id = rm.repository_id AND t.digest = rm.index_digest
	              WHERE rm.manifest_id = m.id)
	  AND NOT EXISTS (SELECT 1 FROM (SELECT t.repository_id, t.tag, t.last_seen, t.gone FROM tag_history t WHERE t.digest = m.digest
	                                 UNION ALL
	                                 SELECT t.repository_id, t.tag, t.last_seen, t.gone FROM repo_manifests rm
	                                 JOIN tag_history t ON t.repository_id = rm.repository_id AND t.digest = rm.index_digest
	                                 WHERE rm.manifest_id = m.id) t
	                  WHERE t.gone IS NULL
	                    AND NOT EXISTS (SELECT 1 FROM tag_history n
	                                    WHERE n.repository_id = t.repository_id AND n.tag = t.tag AND n.last_seen > t.last_seen)))`

// ImageStamps and UntaggedImages are the CTEs imageStamps and
// untaggedImages, for the PostgreSQL back end's rules store (the same SQL
// reads its tables).
const (
	ImageStamps    = imageStamps
	UntaggedImages = untaggedImages
)

// fillUntagged makes the temporary table temp.untagged_images hold the
// digests of untaggedImages, computed once per transaction.
func fillUntagged(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{`CREATE TEMP TABLE IF NOT EXISTS untagged_images (digest TEXT PRIMARY KEY)`, `DELETE FROM temp.untagged_images`,
		`WITH ` + untaggedImages + ` INSERT INTO temp.untagged_images (digest) SELECT digest FROM untagged`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("untagged images: %w", err)
		}
	}
	return nil
}

// PrepareScopes sets, for each scoped rule, the images a run must evaluate
// it on: those not evaluated yet with this rule version, or whose rows
// changed since; every image when full. It returns how many images each
// scoped rule has in scope. The scope is what the rule_scope table holds
// until the next call.
func (db *DB) PrepareScopes(ctx context.Context, rules []RuleEval, full bool) (map[string]int, error) {
	out := map[string]int{}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM rule_scope`); err != nil {
			return err
		}
		if err := fillUntagged(ctx, tx); err != nil {
			return err
		}
		for _, r := range rules {
			if !r.Scoped {
				continue
			}
			res, err := tx.ExecContext(ctx, `WITH `+imageStamps+`
				INSERT INTO rule_scope (rule_id, image_digest)
				SELECT ?1, s.digest FROM stamps s
				LEFT JOIN rule_image_evals e ON e.rule_id = ?1 AND e.image_digest = s.digest
				WHERE (?3 OR e.image_digest IS NULL OR e.version != ?2 OR e.stamp != s.stamp)
				  AND s.digest NOT IN (SELECT digest FROM temp.untagged_images)`, r.RuleID, r.Version, full)
			if err != nil {
				return fmt.Errorf("rule %s: %w", r.RuleID, err)
			}
			n, _ := res.RowsAffected()
			out[r.RuleID] = int(n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rule scopes: %w", err)
	}
	return out, nil
}

// RulesRun is what a rules run found, for RecordFindings.
type RulesRun struct {
	Started   string     // when the run started (TimeFormat)
	Evaluated []RuleEval // the rules evaluated without error
	// Rules lists the id of every rule of the run's set, evaluated or not
	// (a rule that failed keeps its findings); findings of other rules,
	// disabled or removed since, are resolved.
	Rules    []string
	Findings []Finding // what the evaluated rules returned
	// Resuppress sets the suppression that now applies to findings not
	// returned.
	Resuppress []Suppression
}

// RecordFindings records a rules run for scanID in one transaction: every
// finding returned (new ones get first_seen scanID; known ones get
// last_seen scanID, and become new again if they were resolved or their
// suppression no longer applies); for the
// rules evaluated, every unresolved finding not returned now is resolved
// in scanID, except, for scoped rules, findings of images outside the
// rule's scope, which are carried over (last_seen scanID). Findings of
// rules of the set not evaluated keep their state (but for Resuppress);
// findings of rules not in the set are resolved, and what those rules were
// evaluated on is forgotten, so that enabling one again evaluates it
// everywhere. Findings of images that tags pointed at and no current tag
// does (moved away, deleted) are resolved, and not recorded again until a
// tag points at the image again. Recording the same scan again replaces
// that run's outcome.
func (db *DB) RecordFindings(ctx context.Context, scanID int64, run RulesRun) (FindingCounts, error) {
	evaluated, started, fs, resuppress := run.Evaluated, run.Started, run.Findings, run.Resuppress
	var c FindingCounts
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`CREATE TEMP TABLE IF NOT EXISTS run_findings (fingerprint TEXT PRIMARY KEY)`,
			`CREATE TEMP TABLE IF NOT EXISTS run_rules (rule_id TEXT PRIMARY KEY, version TEXT NOT NULL, scoped INTEGER NOT NULL)`,
			`DELETE FROM run_findings`, `DELETE FROM run_rules`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		// Images no current tag points at: their findings are resolved.
		if err := fillUntagged(ctx, tx); err != nil {
			return err
		}
		untagged := map[string]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT digest FROM temp.untagged_images`)
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
		if err := rows.Close(); err != nil {
			return err
		}
		put, err := tx.PrepareContext(ctx, `INSERT INTO finding_rows (fingerprint, rule_id, severity, title, image_digest,
			layer_digest, path, detail, first_seen, last_seen, new_in, suppressed, suppressed_until)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?9, ?10, ?11)
			ON CONFLICT (fingerprint) DO UPDATE SET severity = excluded.severity, title = excluded.title,
				last_seen = MAX(last_seen, excluded.last_seen),
				new_in = CASE WHEN resolved_in IS NOT NULL AND resolved_in <= excluded.last_seen THEN excluded.last_seen
				              WHEN suppressed IS NOT NULL AND excluded.suppressed IS NULL THEN excluded.last_seen
				              ELSE new_in END,
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
			if untagged[f.ImageDigest] {
				continue
			}
			if _, err := put.ExecContext(ctx, f.Fingerprint, f.RuleID, f.Severity, f.Title, f.ImageDigest, nullStr(f.LayerDigest),
				nullStr(f.Path), f.Detail, scanID, nullStr(f.Suppressed), nullStr(f.SuppressedUntil)); err != nil {
				return fmt.Errorf("finding %s of rule %s: %w", f.Fingerprint, f.RuleID, err)
			}
			if _, err := mark.ExecContext(ctx, f.Fingerprint); err != nil {
				return err
			}
		}
		for _, r := range resuppress {
			if _, err := tx.ExecContext(ctx, `UPDATE finding_rows SET suppressed = ?1, suppressed_until = ?2,
				new_in = CASE WHEN suppressed IS NOT NULL AND ?1 IS NULL THEN ?4 ELSE new_in END WHERE fingerprint = ?3`,
				nullStr(r.Reason), nullStr(r.Until), r.Fingerprint, scanID); err != nil {
				return fmt.Errorf("finding %s: %w", r.Fingerprint, err)
			}
		}
		for _, r := range evaluated {
			if _, err := tx.ExecContext(ctx, `INSERT INTO run_rules (rule_id, version, scoped) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				r.RuleID, r.Version, r.Scoped); err != nil {
				return err
			}
		}
		if err := fillTemp(ctx, tx, "run_set", run.Rules); err != nil {
			return err
		}
		for _, q := range []string{
			// Resolve the findings of rules no longer in the set, and
			// forget what they were evaluated on.
			`UPDATE finding_rows SET resolved_in = ?1
			WHERE resolved_in IS NULL AND rule_id NOT IN (SELECT name FROM temp.run_set)`,
			`DELETE FROM rule_image_evals WHERE rule_id NOT IN (SELECT name FROM temp.run_set)`,
			// Resolve the findings of images no current tag points at, and
			// forget what they were evaluated on: tagged again, they are
			// evaluated again.
			`UPDATE finding_rows SET resolved_in = ?1
			WHERE resolved_in IS NULL AND image_digest IN (SELECT digest FROM temp.untagged_images)`,
			`DELETE FROM rule_image_evals WHERE image_digest IN (SELECT digest FROM temp.untagged_images)`,
			// Resolve what was evaluated and not returned.
			`UPDATE finding_rows SET resolved_in = ?1
			WHERE resolved_in IS NULL AND fingerprint NOT IN (SELECT fingerprint FROM run_findings)
			  AND (rule_id IN (SELECT rule_id FROM run_rules WHERE scoped = 0)
			       OR EXISTS (SELECT 1 FROM rule_scope s JOIN run_rules r ON r.rule_id = s.rule_id AND r.scoped = 1
			                  WHERE s.rule_id = finding_rows.rule_id AND s.image_digest = finding_rows.image_digest))`,
			// Carry over the findings of images out of a scoped rule's scope.
			`UPDATE finding_rows SET last_seen = ?1
			WHERE resolved_in IS NULL AND last_seen < ?1 AND rule_id IN (SELECT rule_id FROM run_rules WHERE scoped = 1)`,
			// Remember what scoped rules were evaluated on.
			`WITH ` + imageStamps + `
			INSERT INTO rule_image_evals (rule_id, image_digest, version, stamp)
			SELECT s.rule_id, s.image_digest, r.version, st.stamp FROM rule_scope s
			JOIN run_rules r ON r.rule_id = s.rule_id AND r.scoped = 1
			JOIN stamps st ON st.digest = s.image_digest
			WHERE s.image_digest NOT IN (SELECT digest FROM temp.untagged_images)
			ON CONFLICT (rule_id, image_digest) DO UPDATE SET version = excluded.version, stamp = excluded.stamp`,
		} {
			if _, err := tx.ExecContext(ctx, q, scanID); err != nil {
				return err
			}
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*), COALESCE(SUM(new_in = ?1), 0),
			COALESCE(SUM(suppressed IS NOT NULL), 0), COALESCE(SUM(new_in = ?1 AND suppressed IS NOT NULL), 0) FROM finding_rows
			WHERE resolved_in IS NULL AND rule_id IN (SELECT rule_id FROM run_rules)`, scanID).Scan(&c.Findings, &c.New, &c.Suppressed, &c.NewSuppressed); err != nil {
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
