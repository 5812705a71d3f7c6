package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/safetext"
	"github.com/auditor-dev/auditor/rules"
	"github.com/auditor-dev/auditor/scan"
)

// commonFlags are the flags every command that opens the index takes.
type commonFlags struct {
	db, config string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.db, "db", "", `index database (default: "db" in config, else auditor.db)`)
	fs.StringVar(&c.config, "config", "", "config file (default: config.toml if present)")
}

// configPath names the config file load reads.
func (c *commonFlags) configPath() string {
	if c.config == "" {
		return "config.toml"
	}
	return c.config
}

// load reads the config: the named file, or config.toml when present.
func (c *commonFlags) load() (Config, error) {
	path, required := c.config, true
	if path == "" {
		path, required = "config.toml", false
	}
	cfg, err := LoadConfig(path, required)
	if err != nil {
		return cfg, err
	}
	// Every command's queries share SQLite's memory limit (process-wide).
	if err := index.SetMemoryLimit(cfg.SQL.MaxMemory); err != nil {
		return cfg, err
	}
	if c.db != "" {
		cfg.DB = c.db
	}
	return cfg, nil
}

// checkDB checks that the database path can be a database file: not a
// directory, in a directory that exists. A bad --db is a usage error, a bad
// db in the config a config error.
func (c *commonFlags) checkDB(path string) error {
	var problem string
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		problem = "is a directory: name a file"
	} else if errors.Is(err, fs.ErrNotExist) {
		if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			problem = "is in no directory: " + filepath.Dir(path) + " does not exist"
		}
	}
	switch {
	case problem == "":
		return nil
	case c.db != "":
		return fmt.Errorf("%w: --db %s %s", errUsage, path, problem)
	}
	return fmt.Errorf("config %s: db %s %s", c.configPath(), path, problem)
}

func init() {
	register(command{name: "scan", run: runScan, summary: `index a registry (host[:port]), a repository (host/repo) or one
            image (host/repo:tag, host/repo@sha256:...); with no TARGET, the
            targets in config.toml`})
}

func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	jobs := fs.Int("jobs", -1, "layers read at once (default: jobs in config, else two more than the cores)")
	var platforms stringList
	fs.Var(&platforms, "platform", "only this platform of multi-arch images, e.g. linux/amd64 (repeatable)")
	quiet := fs.Bool("quiet", false, "no progress bars or log lines; only the summary")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the scan to this file (for performance work)")
	wait := fs.Bool("wait", false, "if another scan is writing to the database, wait for it instead of refusing")
	var rf reportFlags
	rf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: auditor scan [flags] [TARGET...]")
		fs.PrintDefaults()
	}
	targetArgs, err := parseArgs(fs, args, 0, -1) // flags may follow the targets
	if err != nil {
		return 0, err
	}
	jobsSet := false
	fs.Visit(func(f *flag.Flag) { jobsSet = jobsSet || f.Name == "jobs" })
	if jobsSet && *jobs < 0 {
		return 0, fmt.Errorf("%w: --jobs %d: want 0 (two more than the cores) or more", errUsage, *jobs)
	}
	for _, p := range platforms {
		if _, err := v1.ParsePlatform(p); err != nil {
			return 0, fmt.Errorf("%w: --platform %q: %v", errUsage, p, err)
		}
	}
	if rf.output != "" {
		if st, err := os.Stat(filepath.Dir(rf.output)); err != nil || !st.IsDir() {
			return 0, fmt.Errorf("%w: --output %s: no such directory %s", errUsage, rf.output, filepath.Dir(rf.output))
		}
	}
	cfg, err := cf.load()
	if err != nil {
		return 0, err
	}
	// The command line wins over the config, per-registry settings too.
	if jobsSet {
		cfg.Jobs = *jobs
		for host, r := range cfg.Registries {
			r.Jobs = 0
			cfg.Registries[host] = r
		}
	}
	if len(platforms) > 0 {
		cfg.Platforms = platforms
		for host, r := range cfg.Registries {
			r.Platforms = nil
			cfg.Registries[host] = r
		}
	}
	if len(targetArgs) == 0 {
		// Only what the user named: [registries] holds settings, not
		// targets, so that an example or shared config scans nothing by
		// itself.
		targetArgs = cfg.Targets
		if len(targetArgs) == 0 {
			return 0, fmt.Errorf("%w: name a TARGET (auditor scan registry.example.com), or set targets in %s", errUsage, cf.configPath())
		}
	}
	var targets []crawl.Target
	for _, a := range targetArgs {
		t, err := crawl.ParseTarget(a)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", errUsage, err)
		}
		targets = append(targets, t)
	}
	opts, err := cfg.CrawlOptions()
	if err != nil {
		return 0, err
	}
	// Check the settings before taking the lock and recording a scan.
	if _, err := crawl.New(nil, opts); err != nil {
		return 0, fmt.Errorf("config %s: %w", cf.configPath(), err)
	}

	if err := cf.checkDB(cfg.DB); err != nil {
		return 0, err
	}
	// One scan at a time per database: a second one refuses (or waits).
	lock, err := index.LockScan(ctx, cfg.DB, *wait)
	if err != nil {
		return 0, err
	}
	defer lock.Unlock()
	db, err := index.Open(ctx, cfg.DB)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if err := prepareReportDir(cfg, cf.configPath()); err != nil {
		return 0, err
	}
	pkgs, err := cfg.PackagesScanner()
	if err != nil {
		return 0, err
	}
	if pkgs != nil {
		opts.Scanners = append(opts.Scanners, pkgs)
	}
	// Content checks; the rules are validated by scan.Run before the
	// crawl, and run after it.
	set, threshold, failing, err := scanRules(cfg, cf.configPath(), &rf, &opts)
	if err != nil {
		return 0, err
	}
	prog := newProgress(ctx, stderr, *quiet)
	opts.Log = prog.logger()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, err
		}
		defer pprof.StopCPUProfile()
	}
	summary := stdout
	if set != nil && rf.format != "table" && rf.output == "" {
		summary = stderr // stdout is the machine-readable report alone
	}
	crawled := false
	res, err := scan.Run(ctx, db, scan.Options{
		Targets: targets, Label: strings.Join(targetArgs, " "), Version: version, Crawl: opts,
		Rules: set, RuleOptions: ruleOptions(cfg, rules.RunOptions{}),
		Progress: prog,
		Crawled: func(r *scan.Result) {
			crawled = true
			printSummary(summary, r)
			printErrors(stderr, r.Errors, r.ID)
		},
		Notify: func(msg string) { fmt.Fprintf(stderr, "auditor scan: %s\n", safetext.Escape(msg)) },
	})
	if err != nil {
		if res != nil && !crawled {
			printErrors(stderr, res.Errors, res.ID) // not in the index: shown at least
		}
		return 0, err
	}
	if res.Rules != nil {
		// The report goes to stdout; the rules' status lines to stderr
		// (with --quiet, only the one explaining exitFindings).
		code, err := reportRules(ctx, db, set, &rf, res.Rules, []string{"new"}, threshold, failing, stdout, stderr)
		if err == nil {
			err = writeReportDir(ctx, db, cfg, res.ID, set.Rules)
		}
		if err != nil || code != exitOK {
			return code, err // exitFindings wins over exitScanErrors
		}
	}
	if set == nil && (res.Status == index.ScanOK || res.Status == index.ScanErrors) {
		if err := writeReportDir(ctx, db, cfg, res.ID, nil); err != nil {
			return 0, err
		}
	}
	switch res.Status {
	case index.ScanInterrupted:
		return exitInterrupted, nil
	case index.ScanFailed:
		if err := writeReportDir(ctx, db, cfg, res.ID, nil); err != nil { // the night's report says it failed
			fmt.Fprintf(stderr, "auditor scan: %v\n", err)
		}
		return 0, res.Err
	case index.ScanErrors:
		return exitScanErrors, nil
	}
	return exitOK, nil
}

// printErrors shows the first 20 errors of a scan.
func printErrors(stderr io.Writer, errs []index.ScanError, scanID int64) {
	for i, e := range errs {
		if i == 20 {
			fmt.Fprintf(stderr, "... and %d more: SELECT * FROM scan_errors WHERE scan_id = %d\n", len(errs)-20, scanID)
			break
		}
		fmt.Fprintf(stderr, "error: %s\n", safetext.Escape(scan.DescribeError(e))) // messages quote registries
	}
}

// printSummary prints the scan's figures; writes is the time the index
// spent in write transactions, which bounds how much faster a scan could
// go by reading more layers at once.
func printSummary(w io.Writer, r *scan.Result) {
	s, d, writes := r.Stats, r.Duration, r.Writes
	fmt.Fprintf(w, "scan %d: %s\n", r.ID, r.Status)
	row := func(k string, v any) { fmt.Fprintf(w, "  %-15s %v\n", k, v) }
	row("repositories", s.Repositories)
	row("tags", s.Tags)
	row("images", s.Images)
	if s.Artifacts > 0 {
		row("not images", fmt.Sprintf("%d (signatures, attestations, charts: skipped)", s.Artifacts))
	}
	if s.LayersRescanned > 0 {
		// A new scanner, or a new version of one, reads each indexed layer
		// once more, for itself only.
		row("layers read", fmt.Sprintf("%d (%d indexed already, read again once for new or upgraded scanners: %s)",
			s.LayersRead, s.LayersRescanned, strings.Join(s.Rescanners, ", ")))
	} else {
		row("layers read", s.LayersRead)
	}
	row("layers skipped", s.LayersSkipped)
	row("files", s.Files)
	row("bytes read", humanBytes(s.BytesRead))
	row("errors", s.Errors)
	row("time", d.Round(time.Millisecond))
	if d > 0 {
		row("index writes", fmt.Sprintf("%s (%.0f%% of the time)", writes.Round(time.Millisecond), 100*writes.Seconds()/d.Seconds()))
	}
}
