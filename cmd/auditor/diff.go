package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/auditor-dev/auditor/queries"
)

func init() {
	register(command{name: "diff", run: runDiff, summary: `files added, removed and changed between images A and B; with
            --scan N or --since DATE, what changed in the fleet since then
            (new images, moved tags, new files, new findings)`})
}

func runDiff(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("diff", "diff [flags] A B | diff --scan N | diff --since DATE", stderr)
	var rf readFlags
	rf.register(fs)
	platform := fs.String("platform", "", "os/arch[/variant] of multi-platform images")
	dir := fs.String("path", "/", "compare only this path and what is under it")
	scan := fs.Int64("scan", 0, "what changed in the fleet after scan N (see SELECT * FROM scans)")
	since := fs.String("since", "", "what changed in the fleet after DATE (2006-01-02, or RFC 3339)")
	pos, err := parseArgs(fs, args, 0, 2)
	if err != nil {
		return 0, err
	}
	fleet := *scan != 0 || *since != ""
	switch {
	case *scan != 0 && *since != "":
		return 0, fmt.Errorf("%w: --scan and --since exclude each other", errUsage)
	case fleet && len(pos) > 0:
		return 0, fmt.Errorf("%w: give two images, or --scan/--since, not both", errUsage)
	case !fleet && len(pos) != 2:
		return 0, fmt.Errorf("%w: want two images A B, or --scan N, or --since DATE", errUsage)
	case *scan < 0:
		return 0, fmt.Errorf("%w: --scan must be a scan id", errUsage)
	}
	var when time.Time
	if *since != "" {
		if when, err = parseDate(*since); err != nil {
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
		if *scan != 0 {
			s, err = queries.SinceScan(ctx, r, *scan)
		} else {
			s, err = queries.SinceTime(ctx, r, when)
		}
		if err != nil {
			return 0, err
		}
		if s.None { // not an error: nothing changed (exit 0, like an empty diff)
			after := fmt.Sprintf("scan %d", s.Scan)
			if *since != "" {
				after = *since
			}
			fmt.Fprintf(stderr, "auditor diff: no scan after %s: nothing changed since\n", after)
		}
		rows, err := queries.FleetChanges(ctx, r, s)
		if err != nil {
			return 0, err
		}
		return exitOK, queries.Write(stdout, f, queries.ChangesResult(rows), rf.tableOptions(stdout))
	}
	a, err := queries.Resolve(ctx, r, pos[0], *platform)
	if err != nil {
		return 0, err
	}
	b, err := queries.Resolve(ctx, r, pos[1], *platform)
	if err != nil {
		return 0, err
	}
	rows, err := queries.Diff(ctx, r, a, b, *dir)
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
