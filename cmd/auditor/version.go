package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// baseVersion is the version of a build that has no module version (built
// from a checkout rather than installed as module@version).
const baseVersion = "0.1.0-dev"

// version is the auditor version recorded with each scan and printed by
// --version: the module version, or baseVersion with the VCS revision.
var version = buildVersion(debug.ReadBuildInfo())

// buildVersion derives the version from the build information: the main
// module's version when it has one (go install ...@v1.2.0, or a pseudo-
// version), else baseVersion, plus +REVISION (12 hex digits) and .dirty for
// a build from a modified checkout.
func buildVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return baseVersion
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	v := baseVersion
	settings := buildSettings(bi)
	if rev := settings["vcs.revision"]; rev != "" {
		v += "+" + rev[:min(12, len(rev))]
		if settings["vcs.modified"] == "true" {
			v += ".dirty"
		}
	}
	return v
}

// noRevision is what version shows for a build without VCS information.
const noRevision = "unknown: built without VCS information (-buildvcs=false in GOFLAGS or go env, or not from a git checkout); build with go build -buildvcs=auto"

func buildSettings(bi *debug.BuildInfo) map[string]string {
	m := map[string]string{}
	for _, s := range bi.Settings {
		m[s.Key] = s.Value
	}
	return m
}

func init() {
	register(func() *cobra.Command {
		return &cobra.Command{
			Use:   "version",
			Short: "Print auditor's version, module and VCS information",
			Long: `Print the version recorded with each scan (auditor_version in the scans
view), then the module, the Go version, and the VCS revision and time the
binary was built from, when the build recorded them.`,
			Args: argsBetween(0, 0),
			RunE: action(func(cmd *cobra.Command, _ []string) (int, error) {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "auditor %s\n", version)
				row := func(k, v string) {
					if v != "" {
						fmt.Fprintf(w, "  %-10s %s\n", k, v)
					}
				}
				bi, ok := debug.ReadBuildInfo()
				if ok {
					row("module", bi.Main.Path)
				}
				row("go", runtime.Version())
				row("platform", runtime.GOOS+"/"+runtime.GOARCH)
				if ok {
					s := buildSettings(bi)
					if s["vcs.revision"] == "" {
						// GOFLAGS=-buildvcs=false (go env -w, CI images)
						// drops it silently; say how to get it.
						row("revision", noRevision)
					}
					row("revision", s["vcs.revision"])
					row("time", s["vcs.time"])
					row("modified", s["vcs.modified"])
				}
				return exitOK, nil
			}),
		}
	})
}
