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

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/report"
	"github.com/auditor-dev/auditor/rules"
)

func init() {
	register(command{name: "report", run: runReport, summary: `the report of the latest scan (or --scan N, --since DATE): one
            self-contained HTML page (default), or table, json, csv, sarif`})
}

// reportNow stamps reports; tests freeze it.
var reportNow = time.Now

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("report", "report [flags]", stderr)
	var cf commonFlags
	cf.register(fs)
	scan := fs.Int64("scan", 0, "report on this scan (default: the latest)")
	since := fs.String("since", "", "cover every scan started since DATE (2006-01-02, or RFC 3339): new and resolved count over them")
	format := fs.String("format", "html", "html, table, json, csv or sarif")
	output := fs.String("output", "", "write the report to this file (an HTML report gets FILE's name with .json and .csv beside it: the full data)")
	top := fs.Int("top", report.DefaultTop, "HTML: images detailed (images with new findings always are)")
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return 0, err
	}
	if !slices.Contains(report.Formats, *format) {
		return 0, fmt.Errorf("%w: --format %q: want %s", errUsage, *format, strings.Join(report.Formats, ", "))
	}
	if *scan < 0 || *top < 1 {
		return 0, fmt.Errorf("%w: --scan and --top take a positive number", errUsage)
	}
	o := report.Options{ScanID: *scan, Top: *top, Now: reportNow, Version: version}
	if *since != "" {
		var err error
		if o.Since, err = parseDate(*since); err != nil {
			return 0, fmt.Errorf("%w: --since: %v", errUsage, err)
		}
	}
	if err := checkOutputDir(*output); err != nil {
		return 0, err
	}
	cfg, err := cf.load()
	if err != nil {
		return 0, err
	}
	var set []rules.Rule
	if *format == "sarif" {
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
	if err := writeFullReport(ctx, db, o, *format, *output, set, stdout); err != nil {
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
func writeFullReport(ctx context.Context, db *index.DB, o report.Options, format, output string, set []rules.Rule, stdout io.Writer) error {
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
