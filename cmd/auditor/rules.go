package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/safetext"
	"github.com/auditor-dev/auditor/rules"
)

func init() {
	register(command{name: "rules", run: runRules, summary: `rules list: the rules (default pack and config) and content patterns
            rules run: run the enabled rules on the index, record findings, report
            rules test FILE: run the rules of FILE read-only and print their rows`})
}

func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		return 0, fmt.Errorf("%w: auditor rules list|run|test FILE", errUsage)
	}
	switch args[0] {
	case "list":
		return rulesList(args[1:], stdout, stderr)
	case "run":
		return rulesRun(ctx, args[1:], stdout, stderr)
	case "test":
		return rulesTest(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		subs := strings.ReplaceAll(commands["rules"].summary, "\n            ", "\n  ")
		fmt.Fprintf(stdout, "usage: auditor rules list|run|test FILE [flags]\n\n  %s\n\nRun \"auditor rules SUBCOMMAND -h\" for its flags.\n", subs)
		return exitOK, nil
	}
	return 0, fmt.Errorf("%w: unknown rules subcommand %q (list, run or test FILE)", errUsage, args[0])
}

func rulesList(args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("rules list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if fs.NArg() > 0 {
		return 0, fmt.Errorf("%w: rules list takes no arguments", errUsage)
	}
	cfg, err := cf.load()
	if err != nil {
		return 0, err
	}
	set, err := cfg.RuleSet()
	if err != nil {
		return 0, err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tSCOPE\tSTATUS\tSOURCE\tTITLE")
	row := func(r *rules.Rule, status string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", safetext.Escape(r.ID), r.Severity, r.Scope, status, safetext.Escape(r.Source), safetext.Escape(r.Title))
	}
	for i := range set.Rules {
		row(&set.Rules[i], "enabled")
	}
	for i := range set.Disabled {
		row(&set.Disabled[i], "disabled")
	}
	if err := tw.Flush(); err != nil {
		return 0, err
	}
	m, err := cfg.ContentMatcher()
	if err != nil {
		return 0, err
	}
	if m == nil {
		fmt.Fprintln(stdout, "\ncontent checks: disabled")
		return exitOK, nil
	}
	fmt.Fprintf(stdout, "\ncontent patterns (version %s, files up to %s):\n", m.Version(), humanBytes(m.MaxSize()))
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PATTERN\tSECRET\tDESCRIPTION")
	for _, p := range m.Patterns() {
		fmt.Fprintf(tw, "%s\t%v\t%s\n", safetext.Escape(p.ID), p.Secret, safetext.Escape(p.Description))
	}
	return exitOK, tw.Flush()
}

func rulesRun(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("rules run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	var rf reportFlags
	rf.register(fs)
	state := fs.String("state", "new", "findings to report: new, open (every unresolved one, new included), resolved, all (comma-separated)")
	scan := fs.Int64("scan", 0, "the scan to record findings for; only the latest is accepted (the default)")
	full := fs.Bool("full", false, `evaluate rules of scope "image" on every image, not only on new or changed ones`)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: auditor rules run [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if fs.NArg() > 0 {
		return 0, fmt.Errorf("%w: rules run takes no arguments", errUsage)
	}
	states, err := parseStates(*state)
	if err != nil {
		return 0, err
	}
	cfg, err := cf.load()
	if err != nil {
		return 0, err
	}
	threshold, failing, err := rf.resolve(cfg, cf.configPath())
	if err != nil {
		return 0, err
	}
	set, err := cfg.RuleSet()
	if err != nil {
		return 0, err
	}
	if err := cf.checkDB(cfg.DB); err != nil {
		return 0, err
	}
	db, err := index.Open(ctx, cfg.DB)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	for i := range set.Rules {
		if err := rules.Validate(ctx, db.Reader(), &set.Rules[i]); err != nil {
			return 0, err
		}
	}
	code, err := runAndReport(ctx, db, set, cfg, &rf, rules.RunOptions{ScanID: *scan, Full: *full}, states, threshold, failing, stdout, stderr)
	if errors.Is(err, rules.ErrNotLatestScan) {
		return 0, fmt.Errorf("%w: --scan: %v", errUsage, err)
	}
	if errors.Is(err, index.ErrNoScan) {
		return 0, fmt.Errorf("%s: %w", cfg.DB, err)
	}
	return code, err
}

func parseStates(s string) ([]string, error) {
	if s == "all" {
		return nil, nil
	}
	var out []string
	for _, x := range strings.Split(s, ",") {
		switch x = strings.TrimSpace(x); x {
		case "open": // every unresolved finding, the new ones too
			out = append(out, "new", "open")
		case "new", "resolved":
			out = append(out, x)
		default:
			return nil, fmt.Errorf("%w: --state %q: want new, open, resolved or all", errUsage, x)
		}
	}
	return out, nil
}

func rulesTest(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	limit := fs.Int("limit", 100, "rows printed per rule (0 = all)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: auditor rules test [flags] FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if fs.NArg() != 1 {
		return 0, fmt.Errorf("%w: rules test takes one rules FILE", errUsage)
	}
	rs, err := rules.LoadFile(fs.Arg(0))
	if err != nil {
		return 0, err
	}
	cfg, err := cf.load()
	if err != nil {
		return 0, err
	}
	db, err := index.OpenReadOnly(ctx, cfg.DB)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var scanID int64
	if err := db.Reader().QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM scans`).Scan(&scanID); err != nil {
		return 0, fmt.Errorf("%s: %w", cfg.DB, err)
	}
	for i := range rs {
		r := &rs[i]
		if err := rules.Validate(ctx, db.Reader(), r); err != nil {
			return 0, err
		}
		t := time.Now()
		cols, rows, err := rules.TestRows(ctx, db.Reader(), r, scanID, *limit, cfg.Rules.Timeout)
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(stdout, "rule %s (%s): %d rows in %v", safetext.Escape(r.ID), r.Severity, len(rows), time.Since(t).Round(time.Millisecond))
		if *limit > 0 && len(rows) == *limit {
			fmt.Fprintf(stdout, " (limit reached)")
		}
		fmt.Fprintln(stdout)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for j := range cols {
			cols[j] = safetext.Escape(strings.ToUpper(cols[j]))
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
		for _, row := range rows {
			for j := range row {
				row[j] = safetext.Cut(row[j], 100)
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return 0, err
		}
		fmt.Fprintln(stdout)
	}
	return exitOK, nil
}
