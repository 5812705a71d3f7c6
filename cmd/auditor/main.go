// Command auditor indexes the files of every image in container registries
// into SQLite, without running or unpacking any image, so that rules and
// analysts can ask what is inside.
//
// Run "auditor help" for the commands and their flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/auditor-dev/auditor/internal/safetext"
)

// version is the auditor version recorded with each scan.
var version = "0.1.0-dev"

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

// command is one auditor subcommand. Each lives in its own file and adds
// itself to commands in an init function.
type command struct {
	name    string
	summary string // one line for the help text; continuation lines indented
	// run parses args and does the work. It returns the exit status, or an
	// error: errUsage-wrapped for a bad command line, any other for failure.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error)
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

func usage() string {
	var b strings.Builder
	b.WriteString("usage: auditor COMMAND [flags] [args]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-9s %s\n", n, commands[n].summary)
	}
	b.WriteString("\nRun \"auditor COMMAND -h\" for a command's flags.\n")
	return b.String()
}

// run is main without the process: it parses args, runs one command and
// returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage())
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "auditor: unknown command %s\n\n%s", safetext.Escape(strconv.Quote(args[0])), usage())
		return exitUsage
	}
	code, err := cmd.run(ctx, args[1:], stdout, stderr)
	if err == nil {
		return code
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "auditor %s: %s\n", args[0], safetext.Lines(err.Error()))
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "auditor %s: interrupted\n", args[0])
		return exitInterrupted
	}
	// Errors name images, tags and paths, and quote registries: escaped.
	fmt.Fprintf(stderr, "auditor %s: %s\n", args[0], safetext.Lines(err.Error()))
	return exitFailure
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
