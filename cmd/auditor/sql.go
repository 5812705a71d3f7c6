package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/auditor-dev/auditor/queries"
)

func init() {
	register(command{name: "sql", run: runSQL, summary: `run one read-only SQL query over the index's views (QUERY, - for
            stdin, or --file F); writes, ATTACH, settings and extensions are refused`})
}

func runSQL(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("sql", "sql [flags] QUERY | - | --file FILE", stderr)
	var rf readFlags
	rf.register(fs)
	file := fs.String("file", "", "read the query from FILE")
	limit := fs.Int("limit", 0, "print at most this many rows (0: all)")
	pos, err := parseArgs(fs, args, 0, 1)
	if err != nil {
		return 0, err
	}
	if *limit < 0 {
		return 0, fmt.Errorf("%w: --limit must be 0 or more", errUsage)
	}
	var q string
	switch {
	case *file != "" && len(pos) > 0:
		return 0, fmt.Errorf("%w: give QUERY or --file, not both", errUsage)
	case *file != "":
		b, err := os.ReadFile(*file)
		if err != nil {
			return 0, err
		}
		q = string(b)
	case len(pos) == 0:
		return 0, fmt.Errorf("%w: no QUERY (give it as an argument, - for stdin, or --file)", errUsage)
	case pos[0] == "-":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return 0, fmt.Errorf("reading the query from stdin: %w", err)
		}
		q = string(b)
	default:
		q = pos[0]
	}
	if strings.TrimSpace(q) == "" {
		return 0, fmt.Errorf("%w: empty query", errUsage)
	}
	db, f, err := rf.open(ctx)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	o := queries.SQLOptions{Limit: *limit, Format: f, Table: rf.tableOptions(stdout), Timeout: rf.cfg.SQL.Timeout}
	n, more, err := queries.RunSQL(ctx, db.Reader(), q, o, stdout)
	if err != nil {
		return 0, err
	}
	if more {
		fmt.Fprintf(stderr, "auditor sql: stopped after %d rows (--limit)\n", n)
	}
	return exitOK, nil
}
