package rules

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/auditor-dev/auditor/index"
)

// SystemDirs are the directories whose files the "new to the fleet" signal
// tracks (the file_history view): binaries and libraries.
var SystemDirs = []string{"/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/",
	"/lib/", "/lib32/", "/lib64/", "/libx32/", "/usr/lib/", "/usr/lib32/", "/usr/lib64/", "/usr/libx32/", "/usr/local/lib/"}

// DefaultJobs is how many rules are evaluated at once when RunOptions.Jobs
// is 0: one per core, since evaluating a rule is CPU work in SQLite.
var DefaultJobs = max(1, runtime.NumCPU())

// RunOptions configure Run.
type RunOptions struct {
	// ScanID is the scan the findings are recorded for (first_seen and
	// last_seen); 0 means the latest scan, the only one Run accepts.
	ScanID int64
	// Suppressions apply to the findings of this run.
	Suppressions []Suppression
	// Jobs is how many rules run at once; 0 means DefaultJobs.
	Jobs int
	// Now is today's date for suppression expiry; nil means time.Now.
	Now func() time.Time
	// Full evaluates rules of scope "image" on every image, not only on
	// those new or changed since their last run.
	Full bool
	// Timeout stops a rule that runs longer (0: never): it fails with an
	// error naming it and wrapping index.ErrTimeLimit, and the others go on.
	Timeout time.Duration
}

// ErrNotLatestScan is returned by Run for a scan other than the latest.
var ErrNotLatestScan = errors.New("not the latest scan")

// RuleResult is how one rule fared.
type RuleResult struct {
	Rule     *Rule
	Images   int // images evaluated, for a rule of scope "image"
	Findings int // returned by this run
	Duration time.Duration
	Err      error // the rule failed; its earlier findings keep their state
}

// Result is the outcome of Run.
type Result struct {
	ScanID   int64
	Counts   index.FindingCounts
	Rules    []RuleResult // in the set's order
	Warnings []string     // expired suppressions and the like
	Duration time.Duration
}

// Err joins the errors of the rules that failed, or is nil.
func (r *Result) Err() error {
	var errs []error
	for _, rr := range r.Rules {
		if rr.Err != nil {
			errs = append(errs, rr.Err)
		}
	}
	return errors.Join(errs...)
}

// Store is what a rules run reads and records its findings in: the SQLite
// index (SQLite) or the PostgreSQL back end (*postgres.DB), whose
// Querier translates the rules' SQLite dialect.
type Store interface {
	// LatestScan is the newest scan's id (0 for none).
	LatestScan(ctx context.Context) (int64, error)
	RecordFleetFiles(ctx context.Context, scanID int64, prefixes []string) error
	PrepareScopes(ctx context.Context, rules []index.RuleEval, full bool) (map[string]int, error)
	RecordFindings(ctx context.Context, scanID int64, run index.RulesRun) (index.FindingCounts, error)
	// Querier reads the index (SQLite's dialect).
	Querier() Querier
	// RuleConn is a read handle for one worker evaluating rules, and
	// its release.
	RuleConn(ctx context.Context) (Querier, func(), error)
	// MaxReaders bounds the workers (0: no bound).
	MaxReaders() int
}

// analyzer is a Store whose planner needs statistics of what was written
// since they were last gathered (PostgreSQL's): Analyze gathers them, before
// the rules run and after their scopes are written.
type analyzer interface {
	Analyze(ctx context.Context) error
}

// SQLite is the SQLite index as a Store.
func SQLite(db *index.DB) Store { return liteStore{db} }

type liteStore struct{ *index.DB }

func (s liteStore) Querier() Querier { return s.Reader() }
func (s liteStore) MaxReaders() int  { return s.Reader().Stats().MaxOpenConnections }
func (s liteStore) RuleConn(ctx context.Context) (Querier, func(), error) {
	return ruleConn(ctx, s.Reader())
}

// Run evaluates every rule of set read-only over the SQLite index db and
// records the findings (RunStore).
func Run(ctx context.Context, db *index.DB, set *Set, o RunOptions) (*Result, error) {
	return RunStore(ctx, SQLite(db), set, o)
}

// RunStore evaluates every rule of set read-only over db and records the
// findings for the scan: new, still open, resolved, suppressed. A rule that
// fails is reported in the result and does not stop the others. ctx
// governs the whole run; after it returns nil, the findings view shows
// this run's states.
func RunStore(ctx context.Context, db Store, set *Set, o RunOptions) (*Result, error) {
	start := time.Now()
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	jobs := o.Jobs
	if jobs < 0 {
		return nil, fmt.Errorf("rules jobs must be positive, got %d", jobs)
	}
	if jobs == 0 {
		jobs = DefaultJobs
	}
	latest, err := db.LatestScan(ctx)
	if err != nil {
		return nil, err
	}
	if latest == 0 {
		return nil, index.ErrNoScan
	}
	// Findings are recorded as of the index now: only its latest scan can
	// be evaluated (an older or unknown id would rewrite their history).
	scanID := o.ScanID
	if scanID == 0 {
		scanID = latest
	}
	if scanID != latest {
		return nil, fmt.Errorf("%w: scan %d is not the latest scan (%d): rules evaluate the index as it is now", ErrNotLatestScan, scanID, latest)
	}
	res := &Result{ScanID: scanID, Rules: make([]RuleResult, len(set.Rules))}
	var sups []*Suppression
	for i := range o.Suppressions {
		s := o.Suppressions[i]
		if err := s.compile(i); err != nil {
			return nil, err
		}
		if !s.active(now()) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("suppression #%d (%s) expired on %s: not applied", i+1, s.describe(), s.Expires))
			continue
		}
		sups = append(sups, &s)
	}
	startedAt := now().UTC().Format(index.TimeFormat)
	if err := db.RecordFleetFiles(ctx, scanID, SystemDirs); err != nil {
		return nil, err
	}
	evals := make([]index.RuleEval, len(set.Rules))
	for i := range set.Rules {
		r := &set.Rules[i]
		evals[i] = index.RuleEval{RuleID: r.ID, Version: r.Version(), Scoped: r.Scope == ScopeImage}
	}
	inScope, err := db.PrepareScopes(ctx, evals, o.Full)
	if err != nil {
		return nil, err
	}
	if a, ok := db.(analyzer); ok {
		if err := a.Analyze(ctx); err != nil {
			return nil, err
		}
	}

	images, err := countImages(ctx, db.Querier())
	if err != nil {
		return nil, err
	}

	// Workers, each on its own connection with a small page cache, take
	// the rules in turn; no more than the pool has connections.
	workers := min(jobs, len(set.Rules))
	if n := db.MaxReaders(); n > 0 {
		workers = min(workers, n)
	}
	next := make(chan int, len(set.Rules))
	for i := range set.Rules {
		next <- i
	}
	close(next)
	var mu sync.Mutex
	var all []Finding
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, release, connErr := db.RuleConn(ctx)
			if connErr == nil {
				defer release()
			}
			for i := range next {
				r := &set.Rules[i]
				t := time.Now()
				var fs []Finding
				err := connErr // without a connection, the rules this worker takes fail
				rctx, cancel := index.WithTimeLimit(ctx, o.Timeout)
				if n, scoped := inScope[r.ID]; err == nil && !scoped {
					fs, err = eval(rctx, conn, r, scanID, wholeIndex)
				} else if err == nil && n > 0 {
					fs, err = eval(rctx, conn, r, scanID, scopingFor(n, images))
				}
				err = limitError(rctx, r, err)
				cancel()
				res.Rules[i] = RuleResult{Rule: r, Images: inScope[r.ID], Findings: len(fs), Duration: time.Since(t), Err: err}
				if err != nil {
					continue
				}
				mu.Lock()
				all = append(all, fs...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	var evaluated []index.RuleEval
	for i, rr := range res.Rules {
		if rr.Err == nil {
			evaluated = append(evaluated, evals[i])
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].RuleID < all[j].RuleID })

	recs := make([]index.Finding, len(all))
	var names map[string][]string
	if len(sups) > 0 {
		var err error
		if names, err = imageNames(ctx, db.Querier()); err != nil {
			return nil, err
		}
	}
	used := make([]bool, len(sups))
	suppression := func(f *Finding) (reason, until string) {
		for j, s := range sups {
			if s.matches(f, names[f.ImageDigest]) {
				used[j] = true
				return s.Reason, s.Expires
			}
		}
		return "", ""
	}
	returned := make(map[string]bool, len(all))
	for i := range all {
		f := &all[i]
		recs[i] = index.Finding{Fingerprint: f.Fingerprint, RuleID: f.RuleID, Severity: f.Severity.String(), Title: f.Title,
			ImageDigest: f.ImageDigest, LayerDigest: f.LayerDigest, Path: f.Path, Detail: f.Detail}
		recs[i].Suppressed, recs[i].SuppressedUntil = suppression(f)
		returned[f.Fingerprint] = true
	}
	// Findings not returned now but still open (of rules not evaluated
	// again, or of images out of a scoped rule's scope) take the current
	// suppressions too: a suppression added, removed or expired since
	// applies to them as to the rest.
	var carried []Finding
	if len(sups) > 0 || anySuppressed(ctx, db.Querier()) {
		if carried, err = ReadFindings(ctx, db.Querier(), Filter{States: []string{"new", "open"}, Suppressed: true}); err != nil {
			return nil, err
		}
	}
	var resuppress []index.Suppression
	for i := range carried {
		f := &carried[i]
		if returned[f.Fingerprint] {
			continue
		}
		if reason, until := suppression(f); reason != f.Suppressed || until != f.SuppressedUntil {
			resuppress = append(resuppress, index.Suppression{Fingerprint: f.Fingerprint, Reason: reason, Until: until})
		}
	}
	for j, s := range sups {
		if !used[j] {
			res.Warnings = append(res.Warnings, fmt.Sprintf("suppression (%s) matched no finding", s.describe()))
		}
	}
	ids := make([]string, len(set.Rules))
	for i := range set.Rules {
		ids[i] = set.Rules[i].ID
	}
	counts, err := db.RecordFindings(ctx, scanID, index.RulesRun{Started: startedAt, Evaluated: evaluated, Rules: ids, Findings: recs, Resuppress: resuppress})
	if err != nil {
		return nil, err
	}
	res.Counts = counts
	res.Duration = time.Since(start)
	return res, nil
}

func (s *Suppression) describe() string {
	if s.Fingerprint != "" {
		return "fingerprint " + s.Fingerprint
	}
	d := "rule " + s.Rule
	if s.Image != "" {
		d += ", image " + s.Image
	}
	if s.Path != "" {
		d += ", path " + s.Path
	}
	return d
}

// imageNames maps each image digest to the names it is known by:
// registry/repository, repository, and repository:tag for current tags.
func imageNames(ctx context.Context, q Querier) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT digest, registry || '/' || repository, repository FROM images
		UNION ALL
		SELECT i.digest, t.repository || ':' || t.tag, t.registry || '/' || t.repository || ':' || t.tag
		FROM tags t JOIN images i ON i.registry = t.registry AND i.repository = t.repository
			AND (t.digest = i.digest OR t.digest = i.index_digest)
		WHERE t.current`)
	if err != nil {
		return nil, fmt.Errorf("image names: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var d, a, b string
		if err := rows.Scan(&d, &a, &b); err != nil {
			return nil, err
		}
		out[d] = append(out[d], a, b)
	}
	return out, rows.Err()
}

// anySuppressed reports whether an open finding is suppressed (errors count
// as yes: the caller then reads them all).
func anySuppressed(ctx context.Context, q Querier) bool {
	rows, err := q.QueryContext(ctx, `SELECT 1 FROM findings WHERE resolved_in IS NULL AND suppressed_reason IS NOT NULL LIMIT 1`)
	if err != nil {
		return true
	}
	defer rows.Close()
	return rows.Next() || rows.Err() != nil
}

// countImages counts the images of the index.
func countImages(ctx context.Context, q Querier) (int, error) {
	rows, err := q.QueryContext(ctx, `SELECT count(DISTINCT digest) FROM images`)
	if err != nil {
		return 0, fmt.Errorf("counting images: %w", err)
	}
	defer rows.Close()
	var n int
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, fmt.Errorf("counting images: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("counting images: %w", err)
	}
	return n, nil
}

// ruleCacheKiB is the page cache of each connection evaluating rules. The
// rules read much of the index once each, pages the operating system
// caches anyway: a large cache per connection (the pool's default) would
// cost jobs times its size in memory and save little time.
const ruleCacheKiB = 2048

// ruleConn takes a connection from the read-only pool to evaluate rules on,
// with a page cache of ruleCacheKiB; release gives it back to the pool with
// the cache size it had.
func ruleConn(ctx context.Context, pool *sql.DB) (conn Querier, release func(), err error) {
	c, err := pool.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("rules: read-only connection: %w", err)
	}
	var was int64
	err = c.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&was)
	if err == nil {
		_, err = c.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = -%d`, ruleCacheKiB))
	}
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("rules: read-only connection: %w", err)
	}
	return c, func() {
		// A fresh context: the run's may be done, and the connection
		// outlives it.
		c.ExecContext(context.Background(), fmt.Sprintf(`PRAGMA cache_size = %d`, was))
		c.Close()
	}, nil
}

// limitError names the rule whose evaluation under ctx (from
// index.WithTimeLimit) reached a time or memory limit.
func limitError(ctx context.Context, r *Rule, err error) error {
	if lerr := index.LimitError(ctx, err); lerr != err {
		return fmt.Errorf("rule %s (%s): %w", r.ID, r.Source, lerr)
	}
	return err
}
