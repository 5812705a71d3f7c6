package rules

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/queries"
)

// Querier is the read-only handle rules run on: queries.Querier, SQLite's
// reader or PostgreSQL's translating one.
type Querier = queries.Querier

// MaxRows bounds the rows one rule may return: past it the rule fails
// (it is surely too broad to be read by anyone).
const MaxRows = 100_000

// wrap makes a rule's query a subquery, so that it must be one SELECT
// (a second statement does not compile) and its columns can be picked.
func wrap(r *Rule, cols string) string {
	return "SELECT " + cols + " FROM (\n" + query(r) + "\n) AS rule_rows"
}

// query is the rule's query without a trailing semicolon.
func query(r *Rule) string { return strings.TrimRight(strings.TrimSpace(r.Query), ";") }

// args binds :scan_id for queries that use it.
func args(r *Rule, scanID int64) []any {
	if strings.Contains(r.Query, ":scan_id") {
		return []any{sql.Named("scan_id", scanID)}
	}
	return nil
}

// Validate compiles the rule's query against the index schema and checks
// that it returns the required columns. It runs nothing.
func Validate(ctx context.Context, db Querier, r *Rule) error {
	rows, err := db.QueryContext(ctx, wrap(r, "*")+" LIMIT 0", args(r, 0)...)
	if err != nil {
		return fmt.Errorf("rule %s (%s): query does not compile: %w", r.ID, r.Source, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("rule %s (%s): %w", r.ID, r.Source, err)
	}
	var missing []string
	for _, c := range RequiredColumns {
		if !slices.Contains(cols, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("rule %s (%s): query does not return column %s (it returns %s)", r.ID, r.Source,
			strings.Join(missing, ", "), strings.Join(cols, ", "))
	}
	return rows.Err()
}

// Finding is one row a rule returned.
type Finding struct {
	Fingerprint string
	RuleID      string
	Severity    Severity
	Title       string
	ImageDigest string
	LayerDigest string // "" when the rule returned NULL
	Path        string // "" for an image-level finding
	Detail      string

	// Set when read back from the findings view.
	Registry, Repository, Tags string
	FirstSeen, LastSeen        int64
	State                      string // new, open or resolved
	Suppressed                 string // the suppression's reason
	SuppressedUntil            string
	ResolvedIn                 int64 // the scan that resolved it; 0 while it is not
}

// Fingerprint is the stable identity of a finding.
func Fingerprint(ruleID, image, layer, path, detail string) string {
	h := sha256.New()
	for _, s := range []string{ruleID, image, layer, path, detail} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Eval runs one rule read-only on the whole index and returns its
// findings, in the order the query gave them. scanID is bound to :scan_id.
func Eval(ctx context.Context, db Querier, r *Rule, scanID int64) ([]Finding, error) {
	return eval(ctx, db, r, scanID, wholeIndex)
}

// scoping says how eval restricts a rule to the images of its scope (the
// images the rule_scopes view holds for it). Either way the rule returns
// the same rows; only the work SQLite does differs.
type scoping int

const (
	// wholeIndex: no restriction (Eval, and rules of scope "fleet").
	wholeIndex scoping = iota
	// scopePushed: the condition is pushed into the rule's query, so SQLite
	// evaluates it image by image on the images in scope: cheapest when
	// they are few (a nightly run after a scan that found a few new images).
	scopePushed
	// scopeAfter: the rule runs once over the whole index and its rows are
	// filtered afterwards: cheapest when most images are in scope (a first
	// scan, a full run), since a layer shared by many images is then read
	// once instead of once per image.
	scopeAfter
)

// scopingFor picks how to restrict a rule of scope "image" with inScope of
// images images in its scope.
func scopingFor(inScope, images int) scoping {
	if inScope*4 >= images {
		return scopeAfter
	}
	return scopePushed
}

// eval is Eval, restricted to the images the rule_scopes view holds for the
// rule unless s is wholeIndex.
func eval(ctx context.Context, db Querier, r *Rule, scanID int64, s scoping) ([]Finding, error) {
	q, a := scopedQuery(r, scanID, s)
	rows, err := db.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("rule %s (%s): %w", r.ID, r.Source, err)
	}
	defer rows.Close()
	var out []Finding
	seen := map[string]bool{}
	for rows.Next() {
		var img, path, layer, detail sql.NullString
		if err := rows.Scan(&img, &path, &layer, &detail); err != nil {
			return nil, fmt.Errorf("rule %s (%s): %w", r.ID, r.Source, err)
		}
		if !img.Valid || img.String == "" {
			return nil, fmt.Errorf("rule %s (%s): a row has no image_digest", r.ID, r.Source)
		}
		if len(out) >= MaxRows {
			return nil, fmt.Errorf("rule %s (%s): more than %d rows; make it narrower", r.ID, r.Source, MaxRows)
		}
		f := Finding{RuleID: r.ID, Severity: r.Severity, Title: r.Title, ImageDigest: img.String,
			LayerDigest: layer.String, Path: path.String, Detail: detail.String}
		f.Fingerprint = Fingerprint(f.RuleID, f.ImageDigest, f.LayerDigest, f.Path, f.Detail)
		if seen[f.Fingerprint] {
			continue // the same finding twice (e.g. an image in two repositories)
		}
		seen[f.Fingerprint] = true
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rule %s (%s): %w", r.ID, r.Source, err)
	}
	return out, nil
}

// scopedQuery is the query eval runs for rule r with scoping s, and its
// arguments.
func scopedQuery(r *Rule, scanID int64, s scoping) (string, []any) {
	q, a := wrap(r, "image_digest, path, layer_digest, detail"), args(r, scanID)
	switch s {
	case scopePushed:
		// SQLite does not push a condition into a DISTINCT subquery: it
		// would evaluate the rule on the whole index and filter the rows
		// afterwards. Without the DISTINCT the condition reaches the
		// rule's image_layers, and the duplicate rows it let through are
		// dropped below (the same finding twice), so the findings are
		// the same.
		if rest, ok := cutDistinct(query(r)); ok {
			q = "SELECT image_digest, path, layer_digest, detail FROM (\nSELECT " + rest + "\n) AS rule_rows"
		}
		q += "\nWHERE image_digest IN (SELECT image_digest FROM rule_scopes WHERE rule_id = :auditor_rule_id)"
		a = append(a, sql.Named("auditor_rule_id", r.ID))
	case scopeAfter:
		// A LIMIT keeps SQLite from pushing the condition down into the
		// rule's query (and "LIMIT -1" limits nothing).
		q = "SELECT image_digest, path, layer_digest, detail FROM (SELECT * FROM (\n" + query(r) + "\n) LIMIT -1) AS rule_rows" +
			"\nWHERE image_digest IN (SELECT image_digest FROM rule_scopes WHERE rule_id = :auditor_rule_id)"
		a = append(a, sql.Named("auditor_rule_id", r.ID))
	}
	return q, a
}

// selectDistinct is a query that starts with SELECT DISTINCT.
var selectDistinct = regexp.MustCompile(`(?is)^SELECT\s+DISTINCT\s`)

// cutDistinct returns query without the DISTINCT of its first SELECT, if
// it starts with SELECT DISTINCT and has no LIMIT anywhere (a LIMIT would
// count rows before the duplicates are dropped).
func cutDistinct(query string) (rest string, ok bool) {
	loc := selectDistinct.FindStringIndex(query)
	if loc == nil || strings.Contains(strings.ToUpper(query), "LIMIT") {
		return "", false
	}
	return query[loc[1]:], true
}

// TestRows runs a rule read-only and returns every column it returns, for
// "auditor rules test": the header, then the rows as text. A rule running
// longer than timeout (0: no limit) fails, naming the rule.
func TestRows(ctx context.Context, db Querier, r *Rule, scanID int64, limit int, timeout time.Duration) ([]string, [][]string, error) {
	ctx, cancel := index.WithTimeLimit(ctx, timeout)
	defer cancel()
	cols, out, err := testRows(ctx, db, r, scanID, limit)
	return cols, out, limitError(ctx, r, err)
}

func testRows(ctx context.Context, db Querier, r *Rule, scanID int64, limit int) ([]string, [][]string, error) {
	rows, err := db.QueryContext(ctx, wrap(r, "*"), args(r, scanID)...)
	if err != nil {
		return nil, nil, fmt.Errorf("rule %s (%s): %w", r.ID, r.Source, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	var out [][]string
	for rows.Next() && (limit <= 0 || len(out) < limit) {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, fmt.Errorf("rule %s (%s): %w", r.ID, r.Source, err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v.Valid {
				row[i] = v.String
			} else {
				row[i] = "NULL"
			}
		}
		out = append(out, row)
	}
	return cols, out, rows.Err()
}
