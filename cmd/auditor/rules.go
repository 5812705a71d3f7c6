package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/safetext"
	"github.com/auditor-dev/auditor/queries"
	"github.com/auditor-dev/auditor/rules"
)

func init() {
	register(newRulesCmd)
}

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules list|run|test FILE [flags]",
		Short: "List the rules, run them on the index, or test a rules file",
		Long: `Work with the rules that turn the index into findings:

  rules list: the rules (default pack and config) and content patterns
  rules run: run the enabled rules on the index, record findings, report
  rules test FILE: run the rules of FILE read-only and print their rows`,
		// A subcommand is required: none, or an unknown one, is a usage error.
		RunE: action(func(_ *cobra.Command, args []string) (int, error) {
			if len(args) == 0 {
				return 0, fmt.Errorf("%w: auditor rules list|run|test FILE", errUsage)
			}
			return 0, fmt.Errorf("%w: unknown rules subcommand %q (list, run or test FILE)", errUsage, args[0])
		}),
	}
	var listFlags commonFlags
	list := &cobra.Command{
		Use:   "list [flags]",
		Short: "The rules (default pack and config) and content patterns, enabled and disabled",
		Args:  argsBetween(0, 0),
		RunE: action(func(cmd *cobra.Command, _ []string) (int, error) {
			return rulesList(&listFlags, cmd.OutOrStdout())
		}),
	}
	listFlags.register(list)

	var rf runFlags
	runCmd := &cobra.Command{
		Use:   "run [flags]",
		Short: "Run the enabled rules on the index, record the findings for the latest scan, report them",
		Args:  argsBetween(0, 0),
		RunE: action(func(cmd *cobra.Command, _ []string) (int, error) {
			return rulesRun(cmd.Context(), &rf, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	rf.cf.register(runCmd)
	rf.rf.register(runCmd)
	fs := runCmd.Flags()
	fs.StringVar(&rf.state, "state", "new", "`STATES` to report: new, open (every unresolved one, new included), resolved, all (comma-separated)")
	fs.Int64Var(&rf.scan, "scan", 0, "the scan `N` to record findings for; only the latest is accepted (default: the latest)")
	fs.BoolVar(&rf.full, "full", false, `evaluate rules of scope "image" on every image, not only on new or changed ones`)
	runCmd.RegisterFlagCompletionFunc("state", completeWords("new", "open", "resolved", "all"))

	var tf testFlags
	test := &cobra.Command{
		Use:   "test [flags] FILE",
		Short: "Run the rules of FILE read-only over the index and print the rows each returns",
		Args:  argsBetween(1, 1),
		RunE: action(func(cmd *cobra.Command, args []string) (int, error) {
			return rulesTest(cmd.Context(), &tf, args[0], cmd.OutOrStdout())
		}),
	}
	tf.cf.register(test)
	test.Flags().IntVar(&tf.limit, "limit", 100, "`N` rows printed per rule (0: all)")

	cmd.AddCommand(list, runCmd, test)
	return cmd
}

// runFlags are the flags of rules run.
type runFlags struct {
	cf    commonFlags
	rf    reportFlags
	state string
	scan  int64
	full  bool
}

// testFlags are the flags of rules test.
type testFlags struct {
	cf    commonFlags
	limit int
}

func rulesList(cf *commonFlags, stdout io.Writer) (int, error) {
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

func rulesRun(ctx context.Context, f *runFlags, stdout, stderr io.Writer) (int, error) {
	cf, rf := &f.cf, &f.rf
	states, err := parseStates(f.state)
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
	var db *indexDB
	if isPostgres(cfg.DB) {
		db, err = openPostgres(ctx, cfg.DB)
	} else {
		var lite *index.DB
		lite, err = index.Open(ctx, cfg.DB)
		db = &indexDB{lite: lite}
	}
	if err != nil {
		return 0, err
	}
	defer db.Close()
	for i := range set.Rules {
		if err := rules.Validate(ctx, db.Reader(), &set.Rules[i]); err != nil {
			return 0, err
		}
	}
	code, err := runAndReport(ctx, db, set, cfg, rf, rules.RunOptions{ScanID: f.scan, Full: f.full}, states, threshold, failing, stdout, stderr)
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

func rulesTest(ctx context.Context, f *testFlags, file string, stdout io.Writer) (int, error) {
	cf, limit := &f.cf, &f.limit
	rs, err := rules.LoadFile(file)
	if err != nil {
		return 0, err
	}
	cfg, err := cf.load()
	if err != nil {
		return 0, err
	}
	if err := cf.checkDB(cfg.DB); err != nil {
		return 0, err
	}
	db, err := openIndex(ctx, cfg.DB)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var scanID int64
	if err := queries.QueryRow(ctx, db.Reader(), `SELECT COALESCE(MAX(id), 0) FROM scans`).Scan(&scanID); err != nil {
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
