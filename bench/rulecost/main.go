// Command rulecost times every rule of the pack, one at a time, on two
// indexes of the same fleet: the SQLite index and the PostgreSQL one
// (issue 18: the pack must not only find the same on both back ends, but
// cost about the same).
//
// Usage: rulecost [-repeat N] [-timeout D] [-rules FILES] [-only GLOB] [-explain D] DB DSN
//
// DB is an SQLite index and DSN a postgres:// database, both written by a
// scan of the same registry (auditor scan with [rules] disabled, say). Each
// rule runs alone (a set of that one rule, rules.RunStore with Full: every
// image evaluated, as the first run after a scan does), on SQLite and on
// PostgreSQL in turn (the order swapped every other repetition), N times;
// the best time of each is kept (the machine may be shared). A rule that
// runs longer than D is stopped and shown as "> D". A table sorted by the
// PostgreSQL time goes to stdout: per-rule time on each back end, the ratio
// and the findings of each (which must be equal). With -explain, the
// PostgreSQL plan (EXPLAIN ANALYZE, BUFFERS) of every rule slower than that
// on PostgreSQL goes to stderr: of the query the run evaluates (for a rule
// of scope image, its rows filtered by the rule's scope, as in a run with
// every image in scope); of a rule stopped by -timeout, the plan alone.
//
// Rules runs record findings: run it on copies, or on indexes made for it.
package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/postgres"
	"github.com/auditor-dev/auditor/rules"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	repeat := flag.Int("repeat", 3, "runs of each rule on each back end")
	timeout := flag.Duration("timeout", 2*time.Minute, "stop a rule that runs longer")
	files := flag.String("rules", "", "comma-separated user rules files (a rule with a default's id replaces it)")
	only := flag.String("only", "", "comma-separated rule ids or path.Match globs of ids to time (default: all)")
	explain := flag.Duration("explain", 0, "print the PostgreSQL plan of every rule slower than this there (0: none)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rulecost [-repeat N] [-timeout D] [-rules FILES] [-only GLOB] [-explain D] DB DSN")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 || *repeat < 1 || *timeout <= 0 || !postgres.IsDSN(flag.Arg(1)) {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(ctx, flag.Arg(0), flag.Arg(1), *repeat, *timeout, split(*files), split(*only), *explain); err != nil {
		fmt.Fprintf(os.Stderr, "rulecost: %v\n", err)
		os.Exit(1)
	}
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// cost is one rule's best run on one back end.
type cost struct {
	d        time.Duration
	findings int
	timedOut bool
	err      error
}

func run(ctx context.Context, litePath, dsn string, repeat int, timeout time.Duration, files, only []string, explain time.Duration) error {
	lite, err := index.Open(ctx, litePath)
	if err != nil {
		return err
	}
	defer lite.Close()
	pg, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer pg.Close()
	stores := []rules.Store{rules.SQLite(lite), pg}
	names := []string{"SQLite", "PostgreSQL"}

	// The same fleet on both, or the comparison means nothing.
	var counts [2]string
	for i, s := range stores {
		var images, files int64
		rows, err := s.Querier().QueryContext(ctx, `SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM files)`)
		if err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		for rows.Next() {
			err = rows.Scan(&images, &files)
		}
		if err = cmp.Or(err, rows.Close(), rows.Err()); err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		counts[i] = fmt.Sprintf("%d images, %d files rows", images, files)
	}
	if counts[0] != counts[1] {
		return fmt.Errorf("not the same fleet: SQLite has %s, PostgreSQL %s", counts[0], counts[1])
	}
	var analyzed, tables int
	if err := pg.Reader().QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL), count(*)
		FROM pg_stat_user_tables`).Scan(&analyzed, &tables); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "rulecost: %s on each; PostgreSQL: %d of %d tables analyzed before the rules\n", counts[0], analyzed, tables)

	set, err := rules.NewSet(rules.SetOptions{Files: files})
	if err != nil {
		return err
	}
	var picked []rules.Rule
	for _, r := range set.Rules {
		if len(only) == 0 || slices.ContainsFunc(only, func(g string) bool { ok, _ := path.Match(g, r.ID); return ok }) {
			picked = append(picked, r)
		}
	}
	if len(picked) == 0 {
		return fmt.Errorf("-only %s matches no rule", strings.Join(only, ","))
	}

	costs := make([][2]cost, len(picked))
	for i := range picked {
		one := &rules.Set{Rules: picked[i : i+1]}
		for rep := range repeat {
			for k := range 2 {
				b := k ^ rep&1 // SQLite first on even runs
				c, err := timeRule(ctx, stores[b], one, timeout)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", picked[i].ID, names[b], err)
				}
				best := &costs[i][b]
				if rep == 0 || c.err == nil && (best.err != nil || c.d < best.d) {
					*best = c
				}
			}
			if costs[i][0].timedOut && costs[i][1].timedOut {
				break
			}
		}
		fmt.Fprintf(os.Stderr, "rulecost: %-45s SQLite %s, PostgreSQL %s\n", picked[i].ID, show(costs[i][0], timeout), show(costs[i][1], timeout))
	}

	order := make([]int, len(picked))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(costs[j][1].d, costs[i][1].d) })
	fmt.Printf("| rule (%s) | SQLite, ms | PostgreSQL, ms | PostgreSQL / SQLite | findings SQLite / PostgreSQL |\n|---|---:|---:|---:|---:|\n", counts[0])
	var sum [2]time.Duration
	for _, i := range order {
		c := costs[i]
		sum[0] += c[0].d
		sum[1] += c[1].d
		mark := ""
		if c[0].findings != c[1].findings || c[0].err != nil || c[1].err != nil {
			mark = " **differ**"
		}
		fmt.Printf("| %s | %s | %s | %.1f | %d / %d%s |\n", picked[i].ID, show(c[0], timeout), show(c[1], timeout),
			c[1].d.Seconds()/max(c[0].d.Seconds(), 1e-4), c[0].findings, c[1].findings, mark)
	}
	fmt.Printf("| all %d rules, summed | %.1f | %.1f | %.1f | |\n", len(picked), ms(sum[0]), ms(sum[1]), sum[1].Seconds()/max(sum[0].Seconds(), 1e-4))
	for _, i := range order {
		if explain <= 0 || costs[i][1].d < explain {
			continue
		}
		if err := explainRule(ctx, pg, &picked[i], timeout, costs[i][1].timedOut); err != nil {
			fmt.Fprintf(os.Stderr, "rulecost: explain %s: %v\n", picked[i].ID, err)
		}
	}
	for _, i := range order {
		for b, c := range costs[i] {
			if c.err != nil && !c.timedOut {
				fmt.Fprintf(os.Stderr, "rulecost: %s on %s: %v\n", picked[i].ID, names[b], c.err)
			}
		}
	}
	return nil
}

// timeRule runs set (one rule) on s with every image in scope and returns
// how long the rule's query took and what it found. A failure of the run
// itself is the error; the rule's own is in the cost.
func timeRule(ctx context.Context, s rules.Store, set *rules.Set, timeout time.Duration) (cost, error) {
	res, err := rules.RunStore(ctx, s, set, rules.RunOptions{Full: true, Jobs: 1, Timeout: timeout})
	if err != nil {
		return cost{}, err
	}
	rr := res.Rules[0]
	c := cost{d: rr.Duration, findings: rr.Findings, err: rr.Err}
	if errors.Is(rr.Err, index.ErrTimeLimit) {
		c.timedOut, c.d = true, timeout
	}
	return c, nil
}

func show(c cost, timeout time.Duration) string {
	switch {
	case c.timedOut:
		return fmt.Sprintf("> %.0f", ms(timeout))
	case c.err != nil:
		return "error"
	}
	return fmt.Sprintf("%.1f", ms(c.d))
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// explainRule prints the PostgreSQL plan of the rule's query over the
// whole index, with the rows and time of each node.
func explainRule(ctx context.Context, pg *postgres.DB, r *rules.Rule, timeout time.Duration, planOnly bool) error {
	latest, err := pg.LatestScan(ctx)
	if err != nil {
		return err
	}
	var bind []any
	if strings.Contains(r.Query, ":scan_id") {
		bind = append(bind, sql.Named("scan_id", latest))
	}
	q := strings.TrimRight(strings.TrimSpace(r.Query), ";")
	if r.Scope == rules.ScopeImage {
		// What a run with every image in scope evaluates (rules/eval.go,
		// scopeAfter): the rule's rows, filtered by its scope.
		q = "SELECT image_digest, path, layer_digest, detail FROM (SELECT * FROM (\n" + q + "\n) LIMIT -1) AS rule_rows" +
			"\nWHERE image_digest IN (SELECT image_digest FROM rule_scopes WHERE rule_id = :auditor_rule_id)"
		bind = append(bind, sql.Named("auditor_rule_id", r.ID))
	}
	q, args, err := postgres.Translate(q, bind)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if planOnly { // it would not end in time
		return printPlan(ctx, pg, r, "EXPLAIN "+q, args)
	}
	// The query alone, twice on one connection.
	conn, err := pg.Reader().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var took []string
	for range 2 {
		t := time.Now()
		plain, err := conn.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		for plain.Next() {
		}
		if err := cmp.Or(plain.Close(), plain.Err()); err != nil {
			return err
		}
		took = append(took, fmt.Sprintf("%.1f ms", ms(time.Since(t))))
	}
	fmt.Fprintf(os.Stderr, "rulecost: %s: the query alone, twice on one connection: %s\n", r.ID, strings.Join(took, ", "))
	return printPlan(ctx, pg, r, "EXPLAIN (ANALYZE, BUFFERS) "+q, args)
}

func printPlan(ctx context.Context, pg *postgres.DB, r *rules.Rule, explain string, args []any) error {
	rows, err := pg.Reader().QueryContext(ctx, explain, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	fmt.Fprintf(os.Stderr, "\n## %s on PostgreSQL\n\n", r.ID)
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, line)
	}
	return rows.Err()
}
