package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/safetext"
	"github.com/auditor-dev/auditor/report"
	"github.com/auditor-dev/auditor/rules"
)

// reportFlags are the flags of commands that report findings (scan, rules
// run).
type reportFlags struct {
	failOn, format, output string
	failState              string // new or open: which findings --fail-on counts
	fs                     *pflag.FlagSet
}

// quiet reports whether the command's --quiet flag (if it has one) is set.
func (f *reportFlags) quiet() bool {
	q := f.fs.Lookup("quiet")
	return q != nil && q.Value.String() == "true"
}

func (f *reportFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	f.fs = fs
	fs.StringVar(&f.failOn, "fail-on", "", "exit 4 when new findings at or above `SEVERITY` exist: info, low, medium, high, critical, or none (default: rules.fail_on in config, else none)")
	fs.StringVarP(&f.format, "format", "f", "", "findings report `FORMAT`: table, json, csv, sarif, or html (the whole report: see auditor report) (default: rules.format in config, else table)")
	fs.StringVarP(&f.output, "output", "o", "", "write the findings report to `FILE` instead of stdout")
	fs.StringVar(&f.failState, "fail-on-state", "", "what --fail-on counts (`STATE`): new (found by this scan) or open (every unresolved, unsuppressed finding) (default: rules.fail_on_state in config, else new)")
	cmd.RegisterFlagCompletionFunc("fail-on", completeWords("none", "info", "low", "medium", "high", "critical"))
	cmd.RegisterFlagCompletionFunc("format", completeWords(report.Formats...))
	cmd.RegisterFlagCompletionFunc("fail-on-state", completeWords("new", "open"))
}

// resolve fills unset flags from the config (read from configPath) and
// checks them: a bad flag is a usage error, a bad config value a config
// error naming the file.
func (f *reportFlags) resolve(cfg Config, configPath string) (rules.Severity, bool, error) {
	ok := func(format string) bool { return slices.Contains(report.Formats, format) }
	want := strings.Join(report.Formats, ", ")
	switch {
	case f.format != "" && !ok(f.format):
		return 0, false, fmt.Errorf("%w: --format %q: want %s", errUsage, f.format, want)
	case f.format == "" && cfg.Rules.Format == "":
		f.format = "table"
	case f.format == "" && !ok(cfg.Rules.Format):
		return 0, false, fmt.Errorf("config %s: rules.format %q: want %s", configPath, cfg.Rules.Format, want)
	case f.format == "":
		f.format = cfg.Rules.Format
	}
	switch {
	case f.failState != "" && f.failState != "new" && f.failState != "open":
		return 0, false, fmt.Errorf("%w: --fail-on-state %q: want new or open", errUsage, f.failState)
	case f.failState == "" && cfg.Rules.FailOnState != "" && cfg.Rules.FailOnState != "new" && cfg.Rules.FailOnState != "open":
		return 0, false, fmt.Errorf("config %s: rules.fail_on_state %q: want new or open", configPath, cfg.Rules.FailOnState)
	case f.failState == "":
		f.failState = cfg.Rules.FailOnState
	}
	if f.failOn != "" {
		sev, failing, err := failOn(f.failOn)
		if err != nil {
			return 0, false, fmt.Errorf("%w: --fail-on: %v", errUsage, err)
		}
		return sev, failing, nil
	}
	f.failOn = cfg.Rules.FailOn
	sev, failing, err := failOn(f.failOn)
	if err != nil {
		return 0, false, fmt.Errorf("config %s: rules.fail_on: %w", configPath, err)
	}
	return sev, failing, nil
}

// scanRules sets up, before a scan's crawl, the content checks, and returns
// the rules to run after it (nil when rules are disabled) with the --fail-on
// threshold.
func scanRules(cfg Config, configPath string, rf *reportFlags, opts *crawl.Options) (*rules.Set, rules.Severity, bool, error) {
	threshold, failing, err := rf.resolve(cfg, configPath)
	if err != nil {
		return nil, 0, false, err
	}
	m, err := cfg.ContentMatcher()
	if err != nil {
		return nil, 0, false, err
	}
	if m != nil {
		opts.Scanners = append(opts.Scanners, m)
	}
	// What security-relevant configuration files say is part of the index,
	// whatever rules run on it.
	cs, err := cfg.ConfigScanner()
	if err != nil {
		return nil, 0, false, fmt.Errorf("config %s: %w", configPath, err)
	}
	opts.Scanners = append(opts.Scanners, cs)
	if !cfg.Rules.Enabled {
		if failing {
			return nil, 0, false, fmt.Errorf("%w: --fail-on needs rules enabled (rules.enabled = false in config)", errUsage)
		}
		return nil, 0, false, nil
	}
	set, err := cfg.RuleSet()
	if err != nil {
		return nil, 0, false, err
	}
	return set, threshold, failing, nil
}

// ruleOptions completes o with the config's [rules] settings.
func ruleOptions(cfg Config, o rules.RunOptions) rules.RunOptions {
	o.Suppressions, o.Jobs, o.Timeout = cfg.Rules.Suppress, cfg.Rules.Jobs, cfg.Rules.Timeout
	return o
}

// runAndReport runs the rules for o.ScanID, then reports them (reportRules).
func runAndReport(ctx context.Context, db *indexDB, set *rules.Set, cfg Config, rf *reportFlags, o rules.RunOptions, states []string,
	threshold rules.Severity, failing bool, stdout, stderr io.Writer) (int, error) {
	res, err := rules.RunStore(ctx, db.rules(), set, ruleOptions(cfg, o))
	if err != nil {
		return 0, err
	}
	return reportRules(ctx, db, set, rf, res, states, threshold, failing, stdout, stderr)
}

// reportRules writes the report of findings in states after the rules run
// res, and returns exitFindings when new unsuppressed findings at or above
// threshold exist. With --quiet, stderr gets only the line that explains
// exitFindings.
func reportRules(ctx context.Context, db *indexDB, set *rules.Set, rf *reportFlags, res *rules.Result, states []string,
	threshold rules.Severity, failing bool, stdout, stderr io.Writer) (int, error) {
	notes := stderr
	if rf.quiet() {
		notes = io.Discard
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(notes, "warning: %s\n", safetext.Escape(w))
	}
	fs, err := rules.ReadFindings(ctx, db.Reader(), rules.Filter{States: states, Suppressed: true}) // shown as suppressed
	if err != nil {
		return 0, err
	}
	title := "new findings"
	if len(states) != 1 || states[0] != "new" {
		title = "findings"
	}
	if rf.format == "html" { // the whole report of the scan, as `auditor report` writes it
		o := report.Options{ScanID: res.ScanID, Now: reportNow, Version: version}
		if err := writeFullReport(ctx, db, o, rf.format, rf.output, set.Rules, stdout); err != nil {
			return 0, err
		}
	} else if err := writeReport(stdout, rf, &rules.Report{ScanID: res.ScanID, Title: title, Findings: fs, Rules: set.Rules, Version: version}); err != nil {
		return 0, err
	}
	// The run's counts: part of the table report; for the machine formats on
	// stderr, unless --quiet.
	counts := "rules: " + countsLine(len(set.Rules), res.Duration, res.Counts) + "\n"
	switch {
	case rf.format == "table" && rf.output == "":
		fmt.Fprint(stdout, "\n"+counts)
	default:
		fmt.Fprint(notes, counts)
	}
	if err := res.Err(); err != nil {
		return 0, err
	}
	if failing {
		states, what := []string{"new"}, "new findings"
		if rf.failState == "open" {
			states, what = []string{"new", "open"}, "open findings (new or still open: --fail-on-state open)"
		}
		failed, err := rules.ReadFindings(ctx, db.Reader(), rules.Filter{States: states, MinSeverity: threshold})
		if err != nil {
			return 0, err
		}
		if len(failed) > 0 {
			fmt.Fprintf(stderr, "%d %s at or above %s\n", len(failed), what, threshold)
			return exitFindings, nil
		}
	}
	return exitOK, nil
}

// countsLine sums up a rules run: the open and new findings are those not
// suppressed (what the report and --fail-on act on, and the images
// command's FINDINGS column sums), the suppressed ones counted apart.
func countsLine(nRules int, d time.Duration, c index.FindingCounts) string {
	s := fmt.Sprintf("%d rules in %v: %d open findings, %d new, %d resolved", nRules, d.Round(time.Millisecond),
		c.Findings-c.Suppressed, c.New-c.NewSuppressed, c.Resolved)
	if c.Suppressed > 0 {
		s += fmt.Sprintf("; %d suppressed (%d new)", c.Suppressed, c.NewSuppressed)
	}
	return s
}

// writeReport writes the report to --output, or to stdout.
func writeReport(stdout io.Writer, rf *reportFlags, rep *rules.Report) error {
	if rf.output == "" {
		return rules.Write(stdout, rf.format, rep)
	}
	f, err := os.Create(rf.output)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := rules.Write(f, rf.format, rep); err != nil {
		f.Close()
		return fmt.Errorf("report %s: %w", rf.output, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report %s: %w", rf.output, err)
	}
	return nil
}
