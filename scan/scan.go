// Package scan runs one scan into an index: it records the scan, crawls its
// targets, records each error as it happens, decides the scan's status,
// records its end, and runs the rules on what the scan found. The auditor
// command is one caller; a worker sharing a scan is another.
package scan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/imagepkg"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/rules"
)

// Options says what one scan does.
type Options struct {
	// Targets are what the crawl walks; at least one.
	Targets []crawl.Target
	// Label is what the scan's record says was scanned (scans.targets):
	// the targets as the user gave them. "" joins the targets' String.
	Label string
	// Version is the auditor version recorded with the scan.
	Version string
	// Crawl configures the crawler. Run sets its OnError to record each
	// error, then calls the OnError given, if any.
	Crawl crawl.Options
	// Rules, when not nil, are validated before the scan is recorded and
	// run after a crawl whose status is ok or errors.
	Rules *rules.Set
	// RuleOptions configure that run; Run sets its ScanID.
	RuleOptions rules.RunOptions

	// Progress, if set, is started just before the crawl and stopped as
	// soon as it returns.
	Progress Progress
	// Crawled, if set, is called once the crawl has ended and the scan's
	// end is recorded, before the rules run (to show the summary then).
	Crawled func(*Result)
	// Notify, if set, receives what Run works around without failing: an
	// error it could not record yet, a full disk it waits on.
	Notify func(msg string)
}

// Progress shows a crawl's progress.
type Progress interface {
	// Start is called once, before the crawl, with its live figures.
	Start(stats func() crawl.Stats)
	// Stop is called once the crawl has returned, with its final figures.
	Stop(final crawl.Stats)
}

// Result is a recorded scan.
type Result struct {
	ID     int64
	Status string // index.ScanOK, ScanErrors, ScanFailed or ScanInterrupted
	// Err says why Status is failed or interrupted; nil otherwise.
	Err      error
	Stats    crawl.Stats
	Errors   []auditor.ScanError // every error of the scan, in order
	Duration time.Duration       // from the scan's start to its recorded end
	// Writes is the time the index spent in write transactions, which
	// bounds how much faster the scan could go by reading more at once.
	Writes time.Duration
	// PackageImages counts the images whose packages were resolved.
	PackageImages int
	// Rules is the rules' run; nil when none ran (no rules, or a status
	// other than ok and errors).
	Rules *rules.Result
}

// Store is what a scan writes through and reads back: the crawl's sink,
// the scan's record, and a read handle for validating rules. Both the
// SQLite index (*index.DB) and the PostgreSQL back end (*postgres.DB) are
// one. A store that can fill its disk says so with a Full() bool method;
// one that keeps packages (an imagepkg.Store: both do) has them resolved
// after the crawl. The rules run after the crawl on a *index.DB or on a
// store that is a rules.Store (the PostgreSQL back end); on another, Run
// refuses rules before recording anything.
type Store interface {
	crawl.Sink
	BeginScan(ctx context.Context, targets, version string) (int64, error)
	AddScanError(ctx context.Context, id int64, e auditor.ScanError) error
	FinishScan(ctx context.Context, id int64, status string, s auditor.ScanStats) error
	Reader() *sql.DB
	WriteTime() time.Duration
}

// ErrNoRulesStore is returned by Run when it is given rules and a store
// that cannot run them.
var ErrNoRulesStore = errors.New("scan: this store cannot record findings (it is no rules.Store): run without rules")

// full reports whether db filled its disk.
func full(db Store) bool {
	f, ok := db.(interface{ Full() bool })
	return ok && f.Full()
}

// Run runs one scan into db and returns it.
//
// Before recording anything it checks o.Crawl and validates every rule of
// o.Rules against db: an error then is returned with a nil Result, and no
// scan is recorded. Call it under the scan lock (index.LockScan), the only
// writer of db.
//
// Otherwise the scan is recorded (running), and each crawl error is written
// to scan_errors as it happens, so that a killed process keeps them. When
// the crawl ends the status is decided: interrupted when ctx ended it;
// failed when the crawl failed, nothing was reachable (every target errored
// and no tag was listed or no registry answered) or the disk filled up;
// errors when some image or layer failed; ok. The end is recorded even
// after ctx is cancelled, tried again for about 30 s while the disk is
// full (unless ctx is done). If it cannot be recorded, Run returns the
// Result, with the scan's errors, and that error.
//
// Then, for a status of ok or errors, the rules run for the scan (ctx
// governs them); an error of the run as a whole is returned with the
// Result, and the errors of single rules are in Result.Rules.Err().
func Run(ctx context.Context, db Store, o Options) (*Result, error) {
	if len(o.Targets) == 0 {
		return nil, errors.New("scan: no targets")
	}
	if err := Check(ctx, db, o); err != nil {
		return nil, err
	}
	started := time.Now()
	id, err := db.BeginScan(ctx, Label(o), o.Version)
	if err != nil {
		return nil, err
	}
	res := &Result{ID: id}
	o.Crawl.OnError = Recorder(ctx, db, res, o.Crawl.OnError, o.Notify)
	cr, err := crawl.New(db, o.Crawl)
	if err != nil {
		return nil, err // checked above
	}
	if o.Progress != nil {
		o.Progress.Start(cr.Stats)
	}
	crawlErr := cr.Scan(ctx, o.Targets)
	res.Stats = cr.Stats()
	if o.Progress != nil {
		o.Progress.Stop(res.Stats)
	}
	return Finish(ctx, db, res, crawlErr, o, started)
}

// rulesStore returns the store the rules run in on db, or nil.
func rulesStore(db Store) rules.Store {
	switch s := db.(type) {
	case *index.DB:
		return rules.SQLite(s)
	case rules.Store:
		return s
	}
	return nil
}

// Check checks o.Crawl and validates every rule of o.Rules against db, as
// Run does before recording anything.
func Check(ctx context.Context, db Store, o Options) error {
	if _, err := crawl.New(nil, o.Crawl); err != nil {
		return err
	}
	rs := rulesStore(db)
	if o.Rules != nil && rs == nil {
		return ErrNoRulesStore
	}
	if o.Rules != nil {
		for i := range o.Rules.Rules {
			if err := rules.Validate(ctx, rs.Querier(), &o.Rules.Rules[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// Label is what the scan's record says was scanned: o.Label, or the
// targets joined.
func Label(o Options) string {
	if o.Label != "" {
		return o.Label
	}
	names := make([]string, len(o.Targets))
	for i, t := range o.Targets {
		names[i] = t.String()
	}
	return strings.Join(names, " ")
}

// Recorder returns the OnError of a crawl of the scan res.ID: each error is
// added to res.Errors and written to scan_errors as it happens (so that a
// killed process keeps them), then next, if any, is called.
func Recorder(ctx context.Context, db Store, res *Result, next func(auditor.ScanError), notify func(string)) func(auditor.ScanError) {
	if notify == nil {
		notify = func(string) {}
	}
	var mu sync.Mutex
	return func(e auditor.ScanError) {
		mu.Lock()
		res.Errors = append(res.Errors, e)
		mu.Unlock()
		if err := db.AddScanError(context.WithoutCancel(ctx), res.ID, e); err != nil {
			notify(err.Error())
		}
		if next != nil {
			next(e)
		}
	}
}

// Finish ends the recorded scan res.ID whose crawl is over (crawlErr is
// its error, res.Stats its counters, res.Errors its errors; o.Crawl.OnError
// records an error, as Recorder's does): it decides the status, resolves
// the packages, records the end, and runs the rules, as Run does after the
// crawl. started is when the scan began.
func Finish(ctx context.Context, db Store, res *Result, crawlErr error, o Options, started time.Time) (*Result, error) {
	notify := o.Notify
	if notify == nil {
		notify = func(string) {}
	}
	id := res.ID
	res.Status, res.Err = status(ctx, crawlErr, res.Stats)
	if full(db) && (res.Status == index.ScanOK || res.Status == index.ScanErrors) {
		res.Status = index.ScanFailed
		res.Err = fmt.Errorf("the disk filled up: what could not be stored is listed in scan_errors (scan %d); free space and scan again", id)
	}
	// Per-image package resolution, on any store that keeps packages
	// (both the SQLite index and the PostgreSQL back end do).
	if ps, ok := db.(imagepkg.Store); ok && (res.Status == index.ScanOK || res.Status == index.ScanErrors) {
		onError := o.Crawl.OnError
		if onError == nil {
			onError = func(auditor.ScanError) {}
		}
		if err := resolvePackages(ctx, ps, res, onError); err != nil {
			res.Status, res.Err = index.ScanFailed, err
			if ctx.Err() != nil {
				res.Status = index.ScanInterrupted
			}
		}
	}
	st := res.Stats
	stats := auditor.ScanStats{
		Repositories: st.Repositories, Tags: st.Tags, Images: st.Images, LayersRead: st.LayersRead,
		LayersSkipped: st.LayersSkipped, Files: st.Files, BytesRead: st.BytesRead, Errors: st.Errors,
	}
	if err := finish(ctx, db, id, res.Status, stats, notify); err != nil {
		return res, err
	}
	res.Duration, res.Writes = time.Since(started), db.WriteTime()
	if o.Crawled != nil {
		o.Crawled(res)
	}
	if o.Rules == nil || (res.Status != index.ScanOK && res.Status != index.ScanErrors) {
		return res, nil
	}
	ro := o.RuleOptions
	ro.ScanID = id
	rr, err := rules.RunStore(ctx, rulesStore(db), o.Rules, ro)
	if err != nil {
		return res, err
	}
	res.Rules = rr
	return res, nil
}

// status decides a finished crawl's status, and the error that explains a
// failed or interrupted one.
func status(ctx context.Context, crawlErr error, st crawl.Stats) (string, error) {
	switch {
	case crawlErr != nil && ctx.Err() != nil:
		return index.ScanInterrupted, crawlErr
	case crawlErr != nil:
		return index.ScanFailed, crawlErr
	case st.Errors > st.Missing && st.Tags == 0 && st.Images == 0:
		// A registry that says a repository is missing was reached.
		return index.ScanFailed, fmt.Errorf("nothing reachable: %d errors, no tag listed", st.Errors)
	case st.Errors > 0 && st.Images == 0 && st.Answered == 0 && st.Unanswered > 0:
		// The tags named, of registries that never answered.
		return index.ScanFailed, fmt.Errorf("nothing reachable: %d errors, no registry answered", st.Errors)
	case st.Errors > 0:
		return index.ScanErrors, nil
	}
	return index.ScanOK, nil
}

// finishRetries are the waits between attempts to record a scan's end on a
// full disk: the scan's errors are kept in memory meanwhile.
var finishRetries = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}

// finish records the scan's end (and the errors a full disk kept from being
// written), trying again for about 30 s while the disk is full, unless ctx
// is done.
func finish(ctx context.Context, db Store, id int64, status string, stats auditor.ScanStats, notify func(string)) error {
	for i := 0; ; i++ {
		err := db.FinishScan(context.WithoutCancel(ctx), id, status, stats)
		if err == nil || !index.IsFull(err) || i == len(finishRetries) || ctx.Err() != nil {
			return err
		}
		notify(fmt.Sprintf("the disk is full: scan %d is not recorded yet; trying again in %s", id, finishRetries[i]))
		select {
		case <-ctx.Done():
		case <-time.After(finishRetries[i]):
		}
	}
}

// DescribeError names where e happened as the user names it: registry
// images host/repo:tag or host/repo@digest, local inputs as given on the
// command line (oci-archive:/tmp/a.tar:v1), then the message.
func DescribeError(e auditor.ScanError) string {
	where := e.Registry
	switch {
	case e.Repository == "":
	case e.Registry == crawl.SourceOCI || e.Registry == crawl.SourceOCIArchive || e.Registry == crawl.SourceDockerArchive:
		where += ":" + e.Repository
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

// resolvePackages resolves the packages of every image whose packages are
// not resolved by the current imagepkg.Version (those the crawl indexed, and
// those indexed before): a database file that does not parse is one scan
// error naming the image, the layer and the file, through onError, and the
// scan's status is then errors.
func resolvePackages(ctx context.Context, db imagepkg.Store, res *Result, onError func(auditor.ScanError)) error {
	n, err := imagepkg.Update(ctx, db, func(image string, err error) {
		if res.Status == index.ScanOK {
			res.Status = index.ScanErrors
		}
		// One error per database file, naming the image (Reference), the
		// layer and the file, worded as a layer scanner's error is.
		for _, e := range imagepkg.Errors(err) {
			se := auditor.ScanError{Reference: image, Message: "packages: " + e.Error()}
			var de *imagepkg.DatabaseError
			if errors.As(e, &de) && de.Layer != "" {
				se.LayerDigest = de.Layer
				se.Message = "layer " + de.Layer + ": packages: " + de.Err.Error()
			}
			res.Stats.Errors++
			onError(se)
		}
	})
	res.PackageImages = n
	return err
}
