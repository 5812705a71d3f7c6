package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/auditor-dev/auditor/queries"
)

func init() {
	register(func() *cobra.Command {
		var rf readFlags
		var file string
		var limit int
		cmd := &cobra.Command{
			Use:   "sql [flags] QUERY | - | --file FILE",
			Short: "Run one read-only SQL query over the index's views",
			Long: `Run one read-only SQL query over the index's public views: QUERY, - to read
it from stdin, or --file FILE. Writes, CREATE/DROP, ATTACH, settings,
extensions and multiple statements are refused. A query stops after
[sql] timeout, and fails past [sql] max_memory.`,
			Example: `  auditor sql "SELECT repository, count(*) FROM images GROUP BY 1"
  auditor sql --file q.sql -f csv
  echo "SELECT * FROM scans" | auditor sql -`,
			Args: argsBetween(0, 1),
			RunE: action(func(cmd *cobra.Command, args []string) (int, error) {
				return runSQL(cmd.Context(), &rf, args, file, limit, cmd.OutOrStdout(), cmd.ErrOrStderr())
			}),
		}
		rf.register(cmd)
		cmd.Flags().StringVar(&file, "file", "", "read the query from `FILE`")
		cmd.Flags().IntVar(&limit, "limit", 0, "print at most `N` rows (0: all)")
		cmd.MarkFlagFilename("file", "sql")
		return cmd
	})
}

func runSQL(ctx context.Context, rf *readFlags, pos []string, file string, limit int, stdout, stderr io.Writer) (int, error) {
	if limit < 0 {
		return 0, fmt.Errorf("%w: --limit must be 0 or more", errUsage)
	}
	var q string
	switch {
	case file != "" && len(pos) > 0:
		return 0, fmt.Errorf("%w: give QUERY or --file, not both", errUsage)
	case file != "":
		b, err := os.ReadFile(file)
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
	o := queries.SQLOptions{Limit: limit, Format: f, Table: rf.tableOptions(stdout), Timeout: rf.cfg.SQL.Timeout}
	var n int
	var more bool
	if db.pg != nil {
		// Read-only by privilege: a READ ONLY transaction as the reader
		// role, under a statement_timeout.
		ro, done, rerr := db.pg.ReadOnly(ctx, o.Timeout)
		if rerr != nil {
			return 0, rerr
		}
		defer done()
		n, more, err = queries.RunSQLOn(ctx, ro, q, o, stdout)
	} else {
		n, more, err = queries.RunSQL(ctx, db.lite.Reader(), q, o, stdout)
	}
	if err != nil {
		return 0, err
	}
	if more {
		fmt.Fprintf(stderr, "auditor sql: stopped after %d rows (--limit)\n", n)
	}
	return exitOK, nil
}
