package main

import (
	"context"
	"io"

	"github.com/auditor-dev/auditor/queries"
)

func init() {
	register(command{name: "history", run: runHistory, summary: `an image's history: each step's created_by, whether it made a layer,
            and that layer's size and added/modified/deleted files`})
}

func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("history", "history [flags] IMAGE", stderr)
	var rf readFlags
	rf.register(fs)
	platform := fs.String("platform", "", "os/arch[/variant] of a multi-platform IMAGE")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return 0, err
	}
	db, im, f, err := rf.openImage(ctx, pos[0], *platform)
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
