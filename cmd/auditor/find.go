package main

import (
	"context"
	"fmt"
	"io"

	"github.com/auditor-dev/auditor/queries"
)

func init() {
	register(command{name: "find", run: runFind, summary: `which images hold a file: PATTERN is a path (/usr/bin/xz), a glob
            ('/usr/lib/**/liblzma.so*', '*/authorized_keys', xmrig) or a
            content hash (sha256:<hex>)`})
}

func runFind(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("find", "find [flags] PATTERN", stderr)
	var rf readFlags
	rf.register(fs)
	var o queries.FindOptions
	fs.BoolVar(&o.VisibleOnly, "visible-only", false, "only files visible in the image's final filesystem")
	fs.BoolVar(&o.HiddenOnly, "hidden-only", false, "only files hidden by an upper layer (deleted, under an opaque directory, overwritten)")
	fs.BoolVar(&o.Exact, "exact", false, "take PATTERN as a literal path, even with * ? [ in it")
	fs.IntVar(&o.Limit, "limit", 0, "print at most this many rows (0: all)")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return 0, err
	}
	if o.VisibleOnly && o.HiddenOnly {
		return 0, fmt.Errorf("%w: --visible-only and --hidden-only exclude each other", errUsage)
	}
	if o.Limit < 0 {
		return 0, fmt.Errorf("%w: --limit must be 0 or more", errUsage)
	}
	o.Pattern = pos[0]
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
