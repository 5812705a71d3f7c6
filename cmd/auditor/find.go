package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/auditor-dev/auditor/queries"
)

func init() {
	register(func() *cobra.Command {
		var rf readFlags
		var o queries.FindOptions
		cmd := &cobra.Command{
			Use:   "find [flags] PATTERN",
			Short: "Which images hold a file: a path, a glob or a content hash",
			Long: `Which images hold a file, visible or hidden (and by which layer). PATTERN is
a path (/usr/bin/xz), a glob ('/usr/lib/**/liblzma.so*': * within a
directory, ** across directories), a bare name or a glob not starting with /
(authorized_keys, 'bin/bas?': at any depth), or a content hash
(sha256:<hex>, or a prefix of 6+ hex digits).`,
			Example: `  auditor find /usr/bin/xz
  auditor find '/usr/lib/**/liblzma.so*'
  auditor find authorized_keys --visible-only
  auditor find sha256:55b89ab22bee`,
			Args: argsBetween(1, 1),
			RunE: action(func(cmd *cobra.Command, args []string) (int, error) {
				o.Pattern = args[0]
				return runFind(cmd.Context(), &rf, o, cmd.OutOrStdout())
			}),
		}
		rf.register(cmd)
		fs := cmd.Flags()
		fs.BoolVar(&o.VisibleOnly, "visible-only", false, "only files visible in the image's final filesystem")
		fs.BoolVar(&o.HiddenOnly, "hidden-only", false, "only files hidden by an upper layer (deleted, under an opaque directory, overwritten)")
		fs.BoolVar(&o.Exact, "exact", false, "take PATTERN as a literal path, even with * ? [ in it")
		fs.IntVar(&o.Limit, "limit", 0, "print at most `N` rows (0: all)")
		return cmd
	})
}

func runFind(ctx context.Context, rf *readFlags, o queries.FindOptions, stdout io.Writer) (int, error) {
	if o.VisibleOnly && o.HiddenOnly {
		return 0, fmt.Errorf("%w: --visible-only and --hidden-only exclude each other", errUsage)
	}
	if o.Limit < 0 {
		return 0, fmt.Errorf("%w: --limit must be 0 or more", errUsage)
	}
	if _, err := queries.PlanFind(o.Pattern, o.Exact); err != nil {
		return 0, fmt.Errorf("%w: %v", errUsage, err)
	}
	db, f, err := rf.open(ctx)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	rows, err := queries.Find(ctx, db.Reader(), o)
	if err != nil {
		return 0, err
	}
	return exitOK, queries.Write(stdout, f, queries.FindResult(rows), rf.tableOptions(stdout))
}
