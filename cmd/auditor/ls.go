package main

import (
	"context"
	"fmt"
	"io"

	"github.com/auditor-dev/auditor/queries"
)

func init() {
	register(command{name: "ls", run: runLs, summary: `list an image's final filesystem under PATH like ls -lR;
            --all-layers: every layer's entries, hidden ones marked; --layer N:
            what layer N added, modified and deleted`})
}

func runLs(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("ls", "ls [flags] IMAGE [PATH]", stderr)
	var rf readFlags
	rf.register(fs)
	platform := fs.String("platform", "", "os/arch[/variant] of a multi-platform IMAGE")
	allLayers := fs.Bool("all-layers", false, "every entry of every layer, with the layer and whether it is hidden")
	layer := fs.Int("layer", -1, "only the changes layer N made (0 is the bottom layer)")
	pos, err := parseArgs(fs, args, 1, 2)
	if err != nil {
		return 0, err
	}
	if *allLayers && *layer >= 0 {
		return 0, fmt.Errorf("%w: --all-layers and --layer exclude each other", errUsage)
	}
	o := queries.LsOptions{Path: "/", AllLayers: *allLayers, Layer: *layer}
	if len(pos) == 2 {
		o.Path = pos[1]
	}
	db, im, f, err := rf.openImage(ctx, pos[0], *platform)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	res, err := queries.Ls(ctx, db.Reader(), im, o)
	if err != nil {
		return 0, err
	}
	return exitOK, queries.Write(stdout, f, res, rf.tableOptions(stdout))
}
