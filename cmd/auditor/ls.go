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
		var platform string
		var o queries.LsOptions
		cmd := &cobra.Command{
			Use:   "ls [flags] IMAGE [PATH]",
			Short: "List an image's final filesystem under PATH, like ls -lR",
			Long: `List an image's final filesystem under PATH (default /) like ls -lR;
--all-layers: every layer's entries, hidden ones marked; --layer N: what
layer N added, modified and deleted.

` + imageForms,
			Example: `  auditor ls apps/nginx:1.22 /etc/nginx
  auditor ls edge/corner-cases:v1 --layer 2
  auditor ls docker-archive:image.tar /opt --all-layers`,
			Args: argsBetween(1, 2),
			RunE: action(func(cmd *cobra.Command, args []string) (int, error) {
				layer, err := layerFlag(cmd, o.Layer)
				if err != nil {
					return 0, err
				}
				o.Layer = layer
				return runLs(cmd.Context(), &rf, args, platform, o, cmd.OutOrStdout())
			}),
		}
		rf.register(cmd)
		fs := cmd.Flags()
		fs.StringVar(&platform, "platform", "", "`os/arch[/variant]` of a multi-platform IMAGE")
		fs.BoolVar(&o.AllLayers, "all-layers", false, "every entry of every layer, with the layer and whether it is hidden")
		fs.IntVar(&o.Layer, "layer", 0, "only the changes layer `N` made, 0 being the bottom layer (default: the final filesystem)")
		return cmd
	})
}

func runLs(ctx context.Context, rf *readFlags, pos []string, platform string, o queries.LsOptions, stdout io.Writer) (int, error) {
	if o.AllLayers && o.Layer >= 0 {
		return 0, fmt.Errorf("%w: --all-layers and --layer exclude each other", errUsage)
	}
	o.Path = "/"
	if len(pos) == 2 {
		o.Path = pos[1]
	}
	db, im, f, err := rf.openImage(ctx, pos[0], platform)
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

// layerFlag returns the --layer N given, or -1 when there is none: a layer
// is a position, 0 the bottom layer.
func layerFlag(cmd *cobra.Command, n int) (int, error) {
	switch {
	case !cmd.Flags().Changed("layer"):
		return -1, nil
	case n < 0:
		return 0, fmt.Errorf("%w: --layer %d: want 0 (the bottom layer) or more", errUsage, n)
	}
	return n, nil
}
