package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/auditor-dev/auditor/queries"
)

func init() {
	register(func() *cobra.Command {
		var rf readFlags
		cmd := &cobra.Command{
			Use:   "images [flags] [PATTERN]",
			Short: "List indexed images; PATTERN filters by repository, repo:tag or digest",
			Long: `List indexed images: repository, tags, digest, platform, created, layers,
files, size, last scanned, open findings. PATTERN filters by repository,
repo:tag or digest, as a glob ('corp/*') or a substring.`,
			Example: "  auditor images\n  auditor images 'corp/*' -f csv",
			Args:    argsBetween(0, 1),
			RunE: action(func(cmd *cobra.Command, args []string) (int, error) {
				pattern := ""
				if len(args) == 1 {
					pattern = args[0]
				}
				return runImages(cmd.Context(), &rf, pattern, cmd.OutOrStdout())
			}),
		}
		rf.register(cmd)
		return cmd
	})
}

func runImages(ctx context.Context, rf *readFlags, pattern string, stdout io.Writer) (int, error) {
	db, f, err := rf.open(ctx)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	rows, err := queries.Images(ctx, db.Reader(), pattern)
	if err != nil {
		return 0, err
	}
	return exitOK, queries.Write(stdout, f, queries.ImagesResult(rows), rf.tableOptions(stdout))
}
