package main

import (
	"context"
	"io"

	"github.com/auditor-dev/auditor/queries"
)

func init() {
	register(command{name: "images", run: runImages, summary: `list indexed images (repository, tags, digest, platform, created,
            layers, files, size, last scanned, open findings); PATTERN
            filters by repository, repo:tag or digest (glob or substring)`})
}

func runImages(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("images", "images [flags] [PATTERN]", stderr)
	var rf readFlags
	rf.register(fs)
	pos, err := parseArgs(fs, args, 0, 1)
	if err != nil {
		return 0, err
	}
	pattern := ""
	if len(pos) == 1 {
		pattern = pos[0]
	}
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
