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
		var modified, unowned bool
		cmd := &cobra.Command{
			Use:   "packages [flags] IMAGE",
			Short: "An image's packages (dpkg, apk, rpm), their changed files, or the files no package owns",
			Long: `An image's installed packages, read from the package databases its layers
left visible: manager, name, version, architecture, the layer that last
changed the package's records, and how many of its files the image holds
as installed, modified or missing.

--modified lists the package files whose content differs from the
package's record (modified; conffile-modified for configuration files) or
that are gone (missing), as debsums and rpm -V report them. --unowned lists
the visible regular files no package owns.

` + imageForms,
			Example: "  auditor packages library/debian:bookworm\n  auditor packages apps/nginx:1.22 --modified\n  auditor packages ops/toolbox:2025.06 --unowned -f json",
			Args:    argsBetween(1, 1),
			RunE: action(func(cmd *cobra.Command, args []string) (int, error) {
				mode := queries.PackageList
				switch {
				case modified:
					mode = queries.PackageChanges
				case unowned:
					mode = queries.PackageUnowned
				}
				return runPackages(cmd.Context(), &rf, args[0], platform, mode, cmd.OutOrStdout())
			}),
		}
		rf.register(cmd)
		cmd.Flags().StringVar(&platform, "platform", "", "`os/arch[/variant]` of a multi-platform IMAGE")
		cmd.Flags().BoolVar(&modified, "modified", false, "list the package files modified or missing")
		cmd.Flags().BoolVar(&unowned, "unowned", false, "list the visible regular files no package owns")
		cmd.MarkFlagsMutuallyExclusive("modified", "unowned")
		return cmd
	})
}

func runPackages(ctx context.Context, rf *readFlags, image, platform string, mode queries.PackagesMode, stdout io.Writer) (int, error) {
	db, im, f, err := rf.openImage(ctx, image, platform)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	res, err := queries.Packages(ctx, db.Reader(), im, mode)
	if err != nil {
		return 0, err
	}
	return exitOK, queries.Write(stdout, f, res, rf.tableOptions(stdout))
}
