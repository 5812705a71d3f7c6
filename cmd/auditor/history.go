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
		var platform string
		cmd := &cobra.Command{
			Use:   "history [flags] IMAGE",
			Short: "An image's history: each step, the layer it made, that layer's size and changes",
			Long: `An image's history: each step's created_by, whether it made a layer, and
that layer's size and added/modified/deleted files.

` + imageForms,
			Example: "  auditor history apps/nginx:1.22\n  auditor history oci:path/to/layout:v1 -f json",
			Args:    argsBetween(1, 1),
			RunE: action(func(cmd *cobra.Command, args []string) (int, error) {
				return runHistory(cmd.Context(), &rf, args[0], platform, cmd.OutOrStdout())
			}),
		}
		rf.register(cmd)
		cmd.Flags().StringVar(&platform, "platform", "", "`os/arch[/variant]` of a multi-platform IMAGE")
		return cmd
	})
}

func runHistory(ctx context.Context, rf *readFlags, image, platform string, stdout io.Writer) (int, error) {
	db, im, f, err := rf.openImage(ctx, image, platform)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	rows, err := queries.History(ctx, db.Reader(), im)
	if err != nil {
		return 0, err
	}
	return exitOK, queries.Write(stdout, f, queries.HistoryResult(rows), rf.tableOptions(stdout))
}
