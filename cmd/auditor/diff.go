package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/auditor-dev/auditor/queries"
)

func init() {
	register(func() *cobra.Command {
		var f diffFlags
		cmd := &cobra.Command{
			Use:   "diff [flags] A B | diff --scan N | diff --since DATE",
			Short: "Files added, removed and changed between images A and B, or in the fleet since a scan",
			Long: `Files added, removed and changed between images A and B (each an IMAGE,
below); with --scan N or --since DATE, what changed in the fleet since then:
new images, moved tags, new files, new findings.

` + imageForms,
			Example: `  auditor diff corp/billing-worker:1.0 corp/billing-worker:2.0
  auditor diff --scan 41
  auditor diff --since 2026-01-01 -f json`,
			Args: argsBetween(0, 2),
			RunE: action(func(cmd *cobra.Command, args []string) (int, error) {
				return runDiff(cmd.Context(), &f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
			}),
		}
		f.rf.register(cmd)
		fs := cmd.Flags()
		fs.StringVar(&f.platform, "platform", "", "`os/arch[/variant]` of multi-platform images")
		fs.StringVar(&f.dir, "path", "/", "compare only this `PATH` and what is under it")
		fs.Int64Var(&f.scan, "scan", 0, "what changed in the fleet after scan `N` (see SELECT * FROM scans)")
		fs.StringVar(&f.since, "since", "", "what changed in the fleet after `DATE` (2006-01-02, or RFC 3339)")
		return cmd
	})
}

// diffFlags are diff's flags.
type diffFlags struct {
	rf            readFlags
	platform, dir string
	scan          int64
	since         string
}

func runDiff(ctx context.Context, fl *diffFlags, pos []string, stdout, stderr io.Writer) (int, error) {
	rf := &fl.rf
	var err error
	fleet := fl.scan != 0 || fl.since != ""
	switch {
	case fl.scan != 0 && fl.since != "":
		return 0, fmt.Errorf("%w: --scan and --since exclude each other", errUsage)
	case fleet && len(pos) > 0:
		return 0, fmt.Errorf("%w: give two images, or --scan/--since, not both", errUsage)
	case !fleet && len(pos) != 2:
		return 0, fmt.Errorf("%w: want two images A B, or --scan N, or --since DATE", errUsage)
	case fl.scan < 0:
		return 0, fmt.Errorf("%w: --scan must be a scan id", errUsage)
	}
	var when time.Time
	if fl.since != "" {
		if when, err = parseDate(fl.since); err != nil {
			return 0, fmt.Errorf("%w: --since: %v", errUsage, err)
		}
	}
	db, f, err := rf.open(ctx)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	r := db.Reader()
	if fleet {
		var s queries.Since
		if fl.scan != 0 {
			s, err = queries.SinceScan(ctx, r, fl.scan)
		} else {
			s, err = queries.SinceTime(ctx, r, when)
		}
		if err != nil {
			return 0, err
		}
		if s.None { // not an error: nothing changed (exit 0, like an empty diff)
			after := fmt.Sprintf("scan %d", s.Scan)
			if fl.since != "" {
				after = fl.since
			}
			fmt.Fprintf(stderr, "auditor diff: no scan after %s: nothing changed since\n", after)
		}
		rows, err := queries.FleetChanges(ctx, r, s)
		if err != nil {
			return 0, err
		}
		return exitOK, queries.Write(stdout, f, queries.ChangesResult(rows), rf.tableOptions(stdout))
	}
	a, err := queries.Resolve(ctx, r, pos[0], fl.platform)
	if err != nil {
		return 0, err
	}
	b, err := queries.Resolve(ctx, r, pos[1], fl.platform)
	if err != nil {
		return 0, err
	}
	rows, err := queries.Diff(ctx, r, a, b, fl.dir)
	if err != nil {
		return 0, err
	}
	return exitOK, queries.Write(stdout, f, queries.DiffResult(rows), rf.tableOptions(stdout))
}

// parseDate accepts RFC 3339, "2006-01-02 15:04[:05]" and "2006-01-02"
// (UTC).
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date: want 2006-01-02, 2006-01-02 15:04 or RFC 3339", s)
}
