package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/auditor-dev/auditor/report"
	"github.com/auditor-dev/auditor/rules"
)

func init() {
	register(func() *cobra.Command {
		var f reportCmdFlags
		cmd := &cobra.Command{
			Use:   "report [flags]",
			Short: "The report of the latest scan (or --scan N, --since DATE): HTML, table, JSON, CSV or SARIF",
			Long: `The report of the latest scan (or --scan N; --since DATE covers every scan
started since): one self-contained HTML page (the default: the scan, its
errors, severity cards, a trend, new findings, images with their layers and
findings), or table, json, csv, sarif. An HTML --output FILE gets the full
data beside it, as FILE's name with .json and .csv.`,
			Example: `  auditor report -o tonight.html
  auditor report --scan 12 -f sarif -o scan-12.sarif
  auditor report --since 2026-01-01 -f csv`,
			Args: argsBetween(0, 0),
			RunE: action(func(cmd *cobra.Command, _ []string) (int, error) {
				return runReport(cmd.Context(), &f, cmd.OutOrStdout())
			}),
		}
		f.cf.register(cmd)
		fs := cmd.Flags()
		fs.Int64Var(&f.scan, "scan", 0, "report on scan `N` (default: the latest)")
		fs.StringVar(&f.since, "since", "", "cover every scan started since `DATE` (2006-01-02, or RFC 3339): new and resolved count over them")
		fs.StringVarP(&f.format, "format", "f", "html", "`FORMAT`: html, table, json, csv or sarif")
		fs.StringVarP(&f.output, "output", "o", "", "write the report to `FILE` (an HTML report gets FILE's name with .json and .csv beside it: the full data)")
		fs.IntVar(&f.top, "top", report.DefaultTop, "HTML: `N` images detailed (images with new findings always are)")
		cmd.RegisterFlagCompletionFunc("format", completeWords(report.Formats...))
		cmd.MarkFlagFilename("output", "html", "json", "csv", "sarif")
		return cmd
	})
}

// reportCmdFlags are report's flags.
type reportCmdFlags struct {
	cf                    commonFlags
	scan                  int64
	since, format, output string
	top                   int
}

// reportNow stamps reports; tests freeze it.
var reportNow = time.Now

func runReport(ctx context.Context, f *reportCmdFlags, stdout io.Writer) (int, error) {
	cf := &f.cf
	if !slices.Contains(report.Formats, f.format) {
		return 0, fmt.Errorf("%w: --format %q: want %s", errUsage, f.format, strings.Join(report.Formats, ", "))
	}
	if f.scan < 0 || f.top < 1 {
		return 0, fmt.Errorf("%w: --scan and --top take a positive number", errUsage)
	}
	o := report.Options{ScanID: f.scan, Top: f.top, Now: reportNow, Version: version}
	if f.since != "" {
		var err error
		if o.Since, err = parseDate(f.since); err != nil {
			return 0, fmt.Errorf("%w: --since: %v", errUsage, err)
		}
	}
	if err := checkOutputDir(f.output); err != nil {
		return 0, err
	}
	cfg, err := cf.load()
	if err != nil {
		return 0, err
	}
	var set []rules.Rule
	if f.format == "sarif" {
		rs, err := cfg.RuleSet()
		if err != nil {
			return 0, err
		}
		set = rs.Rules
	}
	db, err := openIndex(ctx, cfg.DB)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if err := writeFullReport(ctx, db, o, f.format, f.output, set, stdout); err != nil {
		return 0, err
	}
	return exitOK, nil
}

func humanBytes(n int64) string { return report.HumanBytes(n) }

// checkOutputDir refuses an --output whose directory does not exist, before
// any work.
func checkOutputDir(output string) error {
	if output == "" {
		return nil
	}
	if st, err := os.Stat(filepath.Dir(output)); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: --output %s: no such directory %s", errUsage, output, filepath.Dir(output))
	}
	return nil
}

// writeFullReport loads the report o selects from db and writes it in
// format to output (with the full data beside an HTML file), or to stdout.
func writeFullReport(ctx context.Context, db *indexDB, o report.Options, format, output string, set []rules.Rule, stdout io.Writer) error {
	d, err := report.Load(ctx, db.Reader(), o)
	if errors.Is(err, report.ErrNoScan) && (o.ScanID != 0 || !o.Since.IsZero()) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err != nil {
		return err
	}
	if output == "" {
		return report.Write(stdout, format, d, set, report.HTMLOptions{})
	}
	return report.WriteFile(output, format, d, set)
}
