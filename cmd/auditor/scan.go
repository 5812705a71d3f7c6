package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/safetext"
	"github.com/auditor-dev/auditor/rules"
	"github.com/auditor-dev/auditor/scan"
	"github.com/auditor-dev/auditor/worker"
)

// targetForms says what scan's TARGET may be.
const targetForms = `TARGET is one of:
  host[:port]                  every repository of a registry (its catalog API, or
                               the repositories of its [registries] table)
  host[:port]/repo             every tag of one repository
  host[:port]/repo:tag         one tag
  host[:port]/repo@sha256:...  one manifest (an image, or every platform of an index)
  http://host[:port][/...]     any of the above, plain HTTP allowed (as insecure = true);
                               https:// may prefix any registry target (the default)
  docker-archive:FILE          a docker save tarball
  oci:DIR[:REF]                an OCI image layout: all its images, or ref name REF
                               (the path ends at the first colon)
  oci-archive:FILE[:REF]       a tar of an OCI image layout
With no TARGET, the targets of config.toml. A registry is spoken to in HTTPS
(TLS verified) unless it is on loopback, insecure = true, or http:// is given.`

// scanFlags are scan's flags.
type scanFlags struct {
	cf         commonFlags
	rf         reportFlags
	jobs       int
	platforms  []string
	quiet      bool
	noProgress bool
	cpuProfile string
	wait       bool
	worker     bool
	workerName string
	lease      time.Duration
}

func init() {
	register(func() *cobra.Command {
		var f scanFlags
		cmd := &cobra.Command{
			Use:   "scan [flags] [TARGET...]",
			Short: "Index registries, repositories, images or local archives and layouts, then run the rules",
			Long: `Index every file of every layer of the images TARGET names (layers already
indexed are not read again), record the scan and its errors, then run the
enabled rules and report the new findings.

` + targetForms,
			Example: `  auditor scan registry.example.com
  auditor scan registry.example.com/apps/nginx:1.22 --platform linux/amd64
  auditor scan docker-archive:image.tar oci:path/to/layout:v1 oci-archive:image.tar
  auditor scan -q --fail-on high -f sarif -o findings.sarif
  auditor scan --config /etc/auditor/config.toml --wait --quiet`,
			Args: argsBetween(0, -1),
			RunE: action(func(cmd *cobra.Command, args []string) (int, error) {
				return runScan(cmd.Context(), cmd, args, &f)
			}),
		}
		fs := cmd.Flags()
		f.cf.register(cmd)
		fs.IntVar(&f.jobs, "jobs", 0, fmt.Sprintf("`N` layers read at once; 0: two more than the cores (default: jobs in config, else %d)", crawl.DefaultJobs))
		fs.StringArrayVar(&f.platforms, "platform", nil, "only this `os/arch[/variant]` of multi-arch images, e.g. linux/amd64 (repeatable; default: platforms in config, else all)")
		fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bars or log lines; only the summary")
		fs.BoolVar(&f.noProgress, "no-progress", false, "no progress bars or progress lines; log lines are kept")
		fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the scan to `FILE` (for performance work)")
		fs.BoolVar(&f.wait, "wait", false, "if another scan is writing to the database, wait for it instead of refusing")
		fs.BoolVar(&f.worker, "worker", false, "be one of several workers (processes, hosts) sharing the scan of the same targets through a PostgreSQL --db (README: several workers)")
		fs.StringVar(&f.workerName, "worker-name", "", "with --worker: this worker's `NAME` in the queue (default host:pid)")
		fs.DurationVar(&f.lease, "lease", worker.DefaultLease, "with --worker: how long a claim on a layer or image holds unrenewed; a dead worker's work is taken over after it")
		f.rf.register(cmd)
		cmd.RegisterFlagCompletionFunc("platform", completeWords("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/386", "linux/ppc64le", "linux/s390x", "windows/amd64"))
		return cmd
	})
}

func runScan(ctx context.Context, cmd *cobra.Command, targetArgs []string, f *scanFlags) (int, error) {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	cf, rf := &f.cf, &f.rf
	jobsSet := cmd.Flags().Changed("jobs")
	if jobsSet && f.jobs < 0 {
		return 0, fmt.Errorf("%w: --jobs %d: want 0 (two more than the cores) or more", errUsage, f.jobs)
	}
	for _, p := range f.platforms {
		if _, err := v1.ParsePlatform(p); err != nil {
			return 0, fmt.Errorf("%w: --platform %q: %v", errUsage, p, err)
		}
	}
	if err := checkOutputDir(rf.output); err != nil {
		return 0, err
	}
	cfg, err := cf.load()
	if err != nil {
		return 0, err
	}
	// The command line wins over the config, per-registry settings too.
	if jobsSet {
		cfg.Jobs = f.jobs
		for host, r := range cfg.Registries {
			r.Jobs = 0
			cfg.Registries[host] = r
		}
	}
	if len(f.platforms) > 0 {
		cfg.Platforms = f.platforms
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

	if err := cf.checkScanDB(cfg.DB); err != nil {
		return 0, err
	}
	if f.worker && !isPostgres(cfg.DB) {
		return 0, fmt.Errorf("%w: --worker needs a PostgreSQL database (--db postgres://..., or db in config.toml): the workers share the scan through it; a SQLite file is one machine's (scan without --worker)", errUsage)
	}
	if f.worker && f.lease < 3*time.Second {
		return 0, fmt.Errorf("%w: --lease %s: want 3s or more (a worker renews its claims every third of it)", errUsage, f.lease)
	}
	// db is the index, SQLite or PostgreSQL (store).
	var db *indexDB
	var store scan.Store
	if isPostgres(cfg.DB) {
		// Scans into one PostgreSQL database may run at once (every write
		// is a transaction of its own; docs/postgres.md): no lock file.
		var err error
		if db, err = openPostgres(ctx, cfg.DB); err != nil { // its errors mask the password
			return 0, err
		}
		defer db.Close()
		store = db.pg
	} else {
		// One scan at a time per database: a second one refuses (or waits).
		lock, err := index.LockScan(ctx, cfg.DB, f.wait)
		if err != nil {
			return 0, err
		}
		defer lock.Unlock()
		lite, err := index.Open(ctx, cfg.DB)
		if err != nil {
			return 0, err
		}
		db = &indexDB{lite: lite}
		defer db.Close()
		store = lite
	}
	now := testNow()
	if now != nil {
		db.setNow(now)
	}
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
	set, threshold, failing, err := scanRules(cfg, cf.configPath(), rf, &opts)
	if err != nil {
		return 0, err
	}
	prog := newProgress(ctx, stderr, f.quiet, f.noProgress)
	opts.Log = prog.logger()
	if f.cpuProfile != "" {
		prof, err := os.Create(f.cpuProfile)
		if err != nil {
			return 0, err
		}
		defer prof.Close()
		if err := pprof.StartCPUProfile(prof); err != nil {
			return 0, err
		}
		defer pprof.StopCPUProfile()
	}
	summary := stdout
	if set != nil && rf.format != "table" && rf.output == "" {
		summary = stderr // stdout is the machine-readable report alone
	}
	crawled := false
	so := scan.Options{
		Targets: targets, Label: strings.Join(targetArgs, " "), Version: version, Crawl: opts,
		Rules: set, RuleOptions: ruleOptions(cfg, rules.RunOptions{Now: now}),
		Progress: prog,
		Crawled: func(r *scan.Result) {
			crawled = true
			printSummary(summary, r)
			printErrors(stderr, r.Errors, r.ID)
		},
		Notify: func(msg string) { fmt.Fprintf(stderr, "auditor scan: %s\n", safetext.Escape(msg)) },
	}
	var res *scan.Result
	if f.worker {
		so.Progress = nil // the shared scan's progress is the queue's (README)
		wr, err := worker.Run(ctx, db.pg, worker.Options{Options: so, Name: f.workerName, Lease: f.lease, Entry: testPauseMidLayer(stderr)})
		if wr != nil && wr.Finished == nil {
			fmt.Fprintf(summary, "worker %s: scan %d: %d layers and %d images done here; planned %s; the scan was ended by another worker\n",
				safetext.Escape(wr.Name), wr.ScanID, wr.Layers, wr.Images, safetext.Escape(strings.Join(wr.Planned, " ")))
		}
		if err != nil {
			return 0, err
		}
		if wr.Finished == nil {
			return exitOK, nil
		}
		res = wr.Finished
	} else {
		res, err = scan.Run(ctx, store, so)
	}
	if err != nil {
		if res != nil && !crawled {
			printErrors(stderr, res.Errors, res.ID) // not in the index: shown at least
		}
		return 0, err
	}
	if res.Rules != nil {
		// The report goes to stdout; the rules' status lines to stderr
		// (with --quiet, only the one explaining exitFindings).
		code, err := reportRules(ctx, db, set, rf, res.Rules, []string{"new"}, threshold, failing, stdout, stderr)
		if err == nil {
			err = writeReportDir(ctx, db, cfg, res.ID, set.Rules)
		}
		if err != nil || code != exitOK {
			return code, err // exitFindings wins over exitScanErrors
		}
	}
	if db != nil && set == nil && (res.Status == index.ScanOK || res.Status == index.ScanErrors) {
		if err := writeReportDir(ctx, db, cfg, res.ID, nil); err != nil {
			return 0, err
		}
	}
	switch res.Status {
	case index.ScanInterrupted:
		return exitInterrupted, nil
	case index.ScanFailed:
		if db == nil {
			return 0, res.Err
		}
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
func printErrors(stderr io.Writer, errs []auditor.ScanError, scanID int64) {
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
