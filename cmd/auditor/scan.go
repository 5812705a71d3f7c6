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
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/safetext"
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
	afterScan, err := scanRules(ctx, cfg, cf.configPath(), &rf, db, &opts) // content checks; rules validated now, run after the crawl
	if err != nil {
		return 0, err
	}
	started := time.Now()
	scanID, err := db.BeginScan(ctx, strings.Join(targetArgs, " "), version)
	if err != nil {
		return 0, err
	}

	// Scan errors are recorded as they happen, so a killed scan keeps them.
	var errMu sync.Mutex
	var errs []index.ScanError
	opts.OnError = func(e index.ScanError) {
		errMu.Lock()
		errs = append(errs, e)
		errMu.Unlock()
		if err := db.AddScanError(context.WithoutCancel(ctx), scanID, e); err != nil {
			fmt.Fprintf(stderr, "auditor scan: %s\n", safetext.Escape(err.Error()))
		}
	}
	prog := newProgress(ctx, stderr, *quiet)
	opts.Log = prog.logger()
	cr, err := crawl.New(db, opts)
	if err != nil {
		return 0, err // checked above
	}
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
	prog.start(cr.Stats)
	scanErr := cr.Scan(ctx, targets)
	prog.stop(cr.Stats())

	st := cr.Stats()
	status := index.ScanOK
	switch {
	case scanErr != nil && ctx.Err() != nil:
		status = index.ScanInterrupted
	case scanErr != nil:
		status = index.ScanFailed
	case st.Errors > st.Missing && st.Tags == 0 && st.Images == 0:
		status = index.ScanFailed // nothing was reachable (a registry that says a repository is missing was reached)
		scanErr = fmt.Errorf("nothing reachable: %d errors, no tag listed", st.Errors)
	case st.Errors > 0 && st.Images == 0 && st.Answered == 0 && st.Unanswered > 0:
		status = index.ScanFailed // the tags named, of registries that never answered
		scanErr = fmt.Errorf("nothing reachable: %d errors, no registry answered", st.Errors)
	case st.Errors > 0:
		status = index.ScanErrors
	}
	if db.Full() && (status == index.ScanOK || status == index.ScanErrors) {
		status = index.ScanFailed
		scanErr = fmt.Errorf("the disk filled up: what could not be stored is listed in scan_errors (scan %d); free space and scan again", scanID)
	}
	stats := index.ScanStats{
		Repositories: st.Repositories, Tags: st.Tags, Images: st.Images, LayersRead: st.LayersRead,
		LayersSkipped: st.LayersSkipped, Files: st.Files, BytesRead: st.BytesRead, Errors: st.Errors,
	}
	if err := finishScan(ctx, stderr, db, scanID, status, stats); err != nil {
		printErrors(stderr, errs, scanID) // not in the index: shown at least
		return 0, err
	}
	summary := stdout
	if afterScan != nil && rf.format != "table" && rf.output == "" {
		summary = stderr // stdout is the machine-readable report alone
	}
	printSummary(summary, scanID, status, st, time.Since(started), db.WriteTime())
	printErrors(stderr, errs, scanID)
	if afterScan != nil && (status == index.ScanOK || status == index.ScanErrors) {
		// The report goes to stdout; the rules' status lines to stderr
		// (with --quiet, only the one explaining exitFindings).
		if code, err := afterScan(ctx, scanID, stdout, stderr); err != nil || code != exitOK {
			return code, err // exitFindings wins over exitScanErrors
		}
	}
	if afterScan == nil && (status == index.ScanOK || status == index.ScanErrors) {
		if err := writeReportDir(ctx, db, cfg, scanID, nil); err != nil {
			return 0, err
		}
	}
	switch status {
	case index.ScanInterrupted:
		return exitInterrupted, nil
	case index.ScanFailed:
		if err := writeReportDir(ctx, db, cfg, scanID, nil); err != nil { // the night's report says it failed
			fmt.Fprintf(stderr, "auditor scan: %v\n", err)
		}
		return 0, scanErr
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
		fmt.Fprintf(stderr, "error: %s\n", safetext.Escape(describeError(e))) // messages quote registries
	}
}

// finishRetries are the waits between attempts to record a scan's end on a
// full disk: the scan's errors are kept in memory meanwhile.
var finishRetries = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}

// finishScan records the scan's end (and the errors a full disk kept from
// being written), trying again for about 30 s while the disk is full,
// unless the scan was interrupted.
func finishScan(ctx context.Context, stderr io.Writer, db *index.DB, id int64, status string, stats index.ScanStats) error {
	for i := 0; ; i++ {
		err := db.FinishScan(context.WithoutCancel(ctx), id, status, stats)
		if err == nil || !index.IsFull(err) || i == len(finishRetries) || ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(stderr, "auditor scan: the disk is full: scan %d is not recorded yet; trying again in %s\n", id, finishRetries[i])
		select {
		case <-ctx.Done():
		case <-time.After(finishRetries[i]):
		}
	}
}

func describeError(e index.ScanError) string {
	where := e.Registry
	switch {
	case e.Repository == "":
	case e.Registry == crawl.SourceOCI || e.Registry == crawl.SourceOCIArchive || e.Registry == crawl.SourceDockerArchive:
		where += ":" + e.Repository // a local input and its path, as given on the command line
	default:
		where += "/" + e.Repository
	}
	if e.Reference != "" {
		if strings.HasPrefix(e.Reference, "sha256:") {
			where += "@" + e.Reference
		} else {
			where += ":" + e.Reference
		}
	}
	if where == "" {
		return e.Message // the scan's, not one registry's
	}
	return where + ": " + e.Message
}

// printSummary prints the scan's figures; writes is the time the index
// spent in write transactions, which bounds how much faster a scan could
// go by reading more layers at once.
func printSummary(w io.Writer, id int64, status string, s crawl.Stats, d, writes time.Duration) {
	fmt.Fprintf(w, "scan %d: %s\n", id, status)
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
