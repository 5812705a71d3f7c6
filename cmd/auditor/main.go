// Command auditor indexes the files of every image in container registries
// into SQLite, without running or unpacking any image, so that rules and
// analysts can ask what is inside.
//
// Run "auditor --help" for the commands, and "auditor COMMAND --help" for
// one command's flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/auditor-dev/auditor/internal/safetext"
)

// Exit statuses. They are part of the interface cron jobs and CI act on, and
// are documented in README.md.
const (
	exitOK          = 0   // everything asked for was done
	exitFailure     = 1   // could not run (bad config, database, registry unreachable as a whole)
	exitUsage       = 2   // bad command line
	exitScanErrors  = 3   // scan finished, but some images or layers failed (see scan_errors)
	exitFindings    = 4   // new findings at or above --fail-on (wins over exitScanErrors)
	exitInterrupted = 130 // stopped by SIGINT or SIGTERM; work in flight rolled back
)

// errUsage marks command-line mistakes (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// commands are the constructors of auditor's subcommands. Each lives in its
// own file and adds itself in an init function.
var commands []func() *cobra.Command

func register(newCmd func() *cobra.Command) { commands = append(commands, newCmd) }

// newRoot builds the command tree of one run: commands hold their flags'
// values, so each run gets its own.
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "auditor",
		Short: "Index every file of every image of container registries, and ask what is inside",
		Long: `auditor crawls container registries (and docker-archive:, oci: and oci-archive:
inputs), records every file of every layer in an SQLite index without running
or extracting anything, runs rules over it, and answers questions about it.`,
		Example: `  auditor scan registry.example.com
  auditor images 'corp/*'
  auditor find /usr/bin/xz
  auditor sql "SELECT repository, count(*) FROM images GROUP BY 1"`,
		Version: version,
		// auditor with no command is a usage error (exit 2), not help.
		RunE: action(func(cmd *cobra.Command, _ []string) (int, error) {
			cmd.SetOut(cmd.ErrOrStderr())
			cmd.Usage()
			return exitUsage, nil
		}),
		SilenceErrors: true, // run prints them, escaped
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("auditor {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return fmt.Errorf("%w: %v", errUsage, err) })
	for _, newCmd := range commands {
		root.AddCommand(newCmd())
	}
	return root
}

// status carries a command's exit status out of cobra, which only passes
// errors.
type status struct {
	code int
	ran  bool // the command's own work began: an error since is not cobra's
}

type statusKey struct{}

// action adapts a command's work, which returns an exit status or an error
// (errUsage-wrapped for a bad command line), to cobra's RunE.
func action(f func(cmd *cobra.Command, args []string) (int, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		st, _ := cmd.Context().Value(statusKey{}).(*status)
		if st == nil {
			st = &status{}
		}
		st.ran = true
		code, err := f(cmd, args)
		st.code = code
		return err
	}
}

// run is main without the process: it parses args, runs one command and
// returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(goFlags(root, append([]string{}, args...))) // never nil: cobra would read os.Args
	st := &status{}
	cmd, err := root.ExecuteContextC(context.WithValue(ctx, statusKey{}, st))
	if err == nil {
		return st.code
	}
	name := "auditor"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	switch {
	case !st.ran || errors.Is(err, errUsage):
		// cobra's errors (unknown command or flag, a bad flag value, the
		// wrong number of arguments) quote what was typed: escaped.
		msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
		fmt.Fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", name, safetext.Lines(msg), name)
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "%s: interrupted\n", name)
		return exitInterrupted
	}
	// Errors name images, tags and paths, and quote registries: escaped.
	fmt.Fprintf(stderr, "%s: %s\n", name, safetext.Lines(err.Error()))
	return exitFailure
}

var goFlag = regexp.MustCompile(`^-([a-z][a-z0-9-]+)(=.*)?$`)

// goFlags rewrites the single-dash long flags the Go flag package accepted
// (-db FILE, -quiet) as --db FILE, --quiet, for the command args run, so
// that scripts written for auditor's first command line keep working. A
// single-dash word that is not one of the command's long flags is left to
// be read as shorthands (-qf json).
func goFlags(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	cmd.InitDefaultHelpFlag()
	lookup := func(name string) *pflag.Flag {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f
		}
		return cmd.InheritedFlags().Lookup(name)
	}
	for i, a := range args {
		if a == "--" {
			break
		}
		if m := goFlag.FindStringSubmatch(a); m != nil && lookup(m[1]) != nil {
			args[i] = "-" + a
		}
	}
	return args
}

// argsBetween accepts lo to hi positional arguments (hi < 0: no limit), a
// usage error otherwise.
func argsBetween(lo, hi int) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < lo || hi >= 0 && len(args) > hi {
			return fmt.Errorf("%w: want %s", errUsage, argCount(lo, hi))
		}
		return nil
	}
}

func argCount(lo, hi int) string {
	switch {
	case lo == hi:
		return fmt.Sprintf("%d argument(s)", lo)
	case hi < 0:
		return fmt.Sprintf("at least %d argument(s)", lo)
	}
	return fmt.Sprintf("%d to %d arguments", lo, hi)
}

// completeWords completes a flag's value from a fixed list.
func completeWords(words ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}

// imageForms says how commands that take an IMAGE name one.
const imageForms = `IMAGE is an image in the index, named as:
  registry/repo:tag            registry.example.com/apps/nginx:1.22
  registry/repo@sha256:...     a manifest digest
  repo:tag                     when unique across registries (apps/nginx:1.22)
  DIGEST-PREFIX                a unique prefix of an image digest (a5e77455)
  docker-archive:FILE          an image scanned from a docker save tarball
  oci:DIR[:REF]                ... from an OCI image layout (without REF: the one image it holds)
  oci-archive:FILE[:REF]       ... from a tar of an OCI image layout
  SOURCE/ABS-PATH[:REF]        a local input as auditor images prints it (oci//srv/layout)
A relative local path is taken from the current directory. For a
multi-platform image, add --platform os/arch[/variant].`
