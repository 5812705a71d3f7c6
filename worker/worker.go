// Package worker runs one worker of a scan that several processes, on one
// host or many, share through a PostgreSQL index (auditor scan --worker).
// PostgreSQL is the work queue (postgres/queue.go): the workers given the
// same targets join one scan record; one of them at a time plans each
// registry (lists repositories, tags and manifests, reads the configs, and
// enqueues the layers not indexed and the images); every worker claims
// layers and images from the queue under a renewed lease, so that each blob
// is read once per scan across all hosts and a killed worker's work is
// taken over when its lease lapses; the worker that finds the work drained
// ends the scan (status, packages, rules) under a lock, once.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/postgres"
	"github.com/auditor-dev/auditor/scan"
)

// Defaults of Options.
const (
	// DefaultLease is how long a claim holds without being renewed; a
	// worker renews its claims every third of it, so a killed worker's
	// work is taken over at most this long after it died.
	DefaultLease = 30 * time.Second
	// DefaultPoll is how long a worker waits when nothing can be claimed
	// (the others hold the rest, or the planner is still listing).
	DefaultPoll = 500 * time.Millisecond
	// MaxClaims is how many times an item may be claimed: past it, every
	// worker that took it died (killed, out of memory), and it is failed.
	MaxClaims = 5
)

// Options configure a worker. The embedded scan options are those of
// scan.Run (Targets: registry targets only; Crawl.Jobs is how many items
// this worker works on at once); Progress is not used.
type Options struct {
	scan.Options
	// Name names this worker in the queue; "" means host:pid.
	Name string
	// Lease and Poll: 0 means DefaultLease and DefaultPoll.
	Lease, Poll time.Duration
	// Entry, if set, is called after each entry a layer writer of this
	// worker takes (the layer's digest, the entries so far): a test hook.
	Entry func(digest string, n int64)
}

// Result is what one worker did.
type Result struct {
	Name    string // of this worker
	ScanID  int64
	Created bool     // this worker recorded the scan (the others joined it)
	Planned []string // the registries this worker planned
	// Layers and Images count the items this worker completed.
	Layers, Images int64
	// Finished is the scan's end when this worker ran it (status,
	// packages, rules); nil when another worker did.
	Finished *scan.Result
}

// ErrLocalTarget is returned for a target that is not a registry: a local
// file or layout is on one host, not shared.
var ErrLocalTarget = errors.New("a shared scan (--worker) takes registry targets only")

// worker is one Run.
type worker struct {
	db      *postgres.DB
	o       Options
	scan    int64
	name    string
	reader  *crawl.Crawler
	record  func(auditor.ScanError)
	log     *slog.Logger
	res     *Result
	layers  atomic.Int64
	images  atomic.Int64
	live    atomic.Int64 // workers of the scan seen alive lately, this one included
	planned sync.Map     // registry -> true while this worker plans it
	mu      sync.Mutex   // guards res.Planned
}

// Run runs one worker of the shared scan of o.Targets in db until the
// scan's work is drained, then ends the scan if no other worker does.
// ctx ending stops it: its claims lapse and the other workers (or the next
// worker started with the same targets, which joins the open scan) take
// them over.
func Run(ctx context.Context, db *postgres.DB, o Options) (*Result, error) {
	if len(o.Targets) == 0 {
		return nil, errors.New("worker: no targets")
	}
	plans := map[string][]crawl.Target{}
	copts := o.Crawl
	copts.Registries = maps.Clone(copts.Registries)
	if copts.Registries == nil {
		copts.Registries = map[string]crawl.Registry{}
	}
	for _, t := range o.Targets {
		if t.Source != "" {
			return nil, fmt.Errorf("%s: %w", t, ErrLocalTarget)
		}
		plans[t.Registry] = append(plans[t.Registry], t)
		if t.PlainHTTP { // as crawl.Scan does for its targets
			r := copts.Registries[t.Registry]
			r.Insecure = true
			copts.Registries[t.Registry] = r
		}
	}
	if err := scan.Check(ctx, db, o.Options); err != nil {
		return nil, err
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	encoded := map[string][]byte{}
	for reg, ts := range plans {
		b, err := encode(ts)
		if err != nil {
			return nil, err
		}
		encoded[reg] = b
	}
	started := time.Now()
	ss, err := db.JoinScan(ctx, scan.Label(o.Options), o.Version, encoded)
	if err != nil {
		return nil, err
	}
	w := &worker{db: db, o: o, scan: ss.ID, name: o.Name, res: &Result{Name: o.Name, ScanID: ss.ID, Created: ss.Created}}
	w.live.Store(1)
	w.log = o.Crawl.Log
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	sres := &scan.Result{ID: ss.ID}
	w.record = scan.Recorder(ctx, db, sres, o.Crawl.OnError, o.Notify)
	copts.OnError = w.record
	copts.Plan = nil
	// Politeness shared: a Retry-After or an open breaker one worker meets
	// holds them all; requests_per_second is divided among the live ones.
	copts.Politeness = db
	copts.RateShare = func() int { return int(w.live.Load()) }
	w.o.Crawl = copts
	if w.reader, err = crawl.New(db, copts); err != nil {
		return nil, err
	}
	w.log.Info("joined shared scan", "scan", ss.ID, "recorded", ss.Created, "worker", o.Name)

	hbCtx, stopHB := context.WithCancel(ctx)
	defer stopHB()
	go w.heartbeat(hbCtx)
	defer db.Leave(context.WithoutCancel(ctx), ss.ID, o.Name)

	if err := w.work(ctx); err != nil {
		return w.result(), err
	}
	// Drained: one worker ends the scan; the others wait for it (and end
	// it themselves if it dies first: its lock goes with its connection).
	for {
		ran, err := db.Finisher(ctx, ss.ID, o.Name, func(ctx context.Context) error {
			fin, err := w.finish(ctx, sres, started)
			w.res.Finished = fin
			return err
		})
		if ran || err != nil {
			return w.result(), err
		}
		done, err := db.SharedScanDone(ctx, ss.ID)
		if err != nil || done {
			return w.result(), err
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return w.result(), err
		}
	}
}

func (w *worker) result() *Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.res.Layers, w.res.Images = w.layers.Load(), w.images.Load()
	return w.res
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// work plans the registries no worker plans, and claims and does items,
// Crawl.Jobs at once, until every registry is planned and every item done
// or failed.
func (w *worker) work(ctx context.Context) error {
	jobs := w.o.Crawl.Jobs
	if jobs <= 0 {
		jobs = crawl.DefaultJobs
	}
	slots := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	defer wg.Wait()
	freed := make(chan struct{}, 1) // an item of this worker ended
	var lastPlans time.Time
	for {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if time.Since(lastPlans) >= w.o.Poll {
			lastPlans = time.Now()
			if err := w.startPlans(ctx, &wg); err != nil {
				return err
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		item, err := w.db.Claim(ctx, w.scan, w.name, w.o.Lease)
		if err != nil {
			<-slots
			return err
		}
		if item != nil {
			wg.Go(func() {
				defer func() {
					<-slots
					select {
					case freed <- struct{}{}:
					default:
					}
				}()
				w.do(ctx, item)
			})
			continue
		}
		<-slots
		p, err := w.db.WorkProgress(ctx, w.scan)
		if err != nil {
			return err
		}
		if p.Drained() {
			return nil
		}
		t := time.NewTimer(w.o.Poll)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-freed:
		}
		t.Stop()
	}
}

// startPlans starts planning each registry that is not planned and that
// this worker does not plan already; RunPlan makes sure only one worker
// at a time plans one registry.
func (w *worker) startPlans(ctx context.Context, wg *sync.WaitGroup) error {
	todo, err := w.db.Unplanned(ctx, w.scan)
	if err != nil {
		return err
	}
	for _, p := range todo {
		if _, busy := w.planned.LoadOrStore(p.Registry, true); busy {
			continue
		}
		wg.Go(func() {
			defer w.planned.Delete(p.Registry)
			ran, err := w.db.RunPlan(ctx, w.scan, p.Registry, func(ctx context.Context) ([]byte, error) { return w.plan(ctx, p) })
			switch {
			case err != nil && ctx.Err() == nil:
				w.notify(fmt.Sprintf("planning %s: %v (another worker plans it again)", p.Registry, err))
			case ran && err == nil:
				w.log.Info("planned", "registry", p.Registry, "scan", w.scan)
				w.mu.Lock()
				w.res.Planned = append(w.res.Planned, p.Registry)
				w.mu.Unlock()
			}
		})
	}
	return nil
}

func (w *worker) notify(msg string) {
	if w.o.Notify != nil {
		w.o.Notify(msg)
	}
}

// planStats is a planning's result: its crawl's counters, and the error
// that failed it (nothing could be done for a target).
type planStats struct {
	Stats crawl.Stats
	Err   string
}

// plan runs the planning crawl of one registry's targets.
func (w *worker) plan(ctx context.Context, p postgres.Plan) ([]byte, error) {
	var targets []crawl.Target
	if err := decode(p.Targets, &targets); err != nil {
		return nil, fmt.Errorf("targets of %s: %w", p.Registry, err)
	}
	opts := w.o.Crawl
	opts.Plan = &planner{db: w.db, scan: w.scan}
	cr, err := crawl.New(w.db, opts)
	if err != nil {
		return nil, err
	}
	var ps planStats
	if err := cr.Scan(ctx, targets); err != nil {
		if ctx.Err() != nil {
			return nil, err // not planned: another worker plans it
		}
		ps.Err = err.Error()
	}
	ps.Stats = cr.Stats()
	return encode(ps)
}

// planner enqueues what a planning crawl finds.
type planner struct {
	db   *postgres.DB
	scan int64
}

func (p *planner) PlanImage(ctx context.Context, ip crawl.ImagePlan) error {
	var items []postgres.NewWork
	var deps []string
	for _, l := range ip.Layers {
		b, err := encode(layerItem{Work: l, Ref: ip.Ref})
		if err != nil {
			return err
		}
		items = append(items, postgres.NewWork{Kind: postgres.WorkLayer, Key: l.Digest, Payload: b})
		deps = append(deps, l.Digest)
	}
	b, err := encode(newImageItem(ip))
	if err != nil {
		return err
	}
	key := ip.Repo.Registry + "/" + ip.Repo.Name + "@" + ip.Image.Digest + " in " + ip.IndexDigest
	items = append(items, postgres.NewWork{Kind: postgres.WorkImage, Key: key, Deps: deps, Payload: b})
	return p.db.Enqueue(ctx, p.scan, items)
}

// do works on one claimed item, renewing its lease meanwhile; when the
// lease is lost (taken over), it stops and writes nothing more.
func (w *worker) do(ctx context.Context, item *postgres.Work) {
	ictx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		t := time.NewTicker(w.o.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ictx.Done():
				return
			case <-t.C:
			}
			if err := w.db.Renew(ictx, item, w.o.Lease); errors.Is(err, postgres.ErrLeaseLost) {
				cancel(err)
				return
			} else if err != nil && ictx.Err() == nil {
				w.log.Warn("renewing a lease", "work", item.Key, "error", err)
			}
		}
	}()
	if item.Claims > MaxClaims {
		w.fail(ctx, item, fmt.Sprintf("claimed %d times: every worker that took it stopped before it was done (killed? out of memory?)", item.Claims))
		return
	}
	var err error
	switch item.Kind {
	case postgres.WorkLayer:
		err = w.doLayer(ictx, item)
	case postgres.WorkImage:
		err = w.doImage(ictx, item)
	default:
		err = fmt.Errorf("work %d: unknown kind %d", item.ID, item.Kind)
	}
	switch {
	case err == nil:
	case errors.Is(err, postgres.ErrLeaseLost) || errors.Is(context.Cause(ictx), postgres.ErrLeaseLost):
		w.log.Warn("lease lost: another worker took the work over", "work", item.Key)
	case ctx.Err() != nil:
		// Stopping: the lease lapses and another worker takes it over.
	default:
		w.notify(fmt.Sprintf("work %s: %v", item.Key, err))
	}
}

// fail records item failed with msg (a layer's error, which the images
// over it report).
func (w *worker) fail(ctx context.Context, item *postgres.Work, msg string) {
	if err := w.db.Fail(context.WithoutCancel(ctx), item, msg); err != nil && !errors.Is(err, postgres.ErrLeaseLost) {
		w.notify(err.Error())
	}
}

// doLayer reads a layer blob (unless it is indexed already) through a
// writer fenced by the item's claim.
func (w *worker) doLayer(ctx context.Context, item *postgres.Work) error {
	var it layerItem
	if err := decode(item.Payload, &it); err != nil {
		return err
	}
	sink := &layerSink{db: w.db, work: item, entry: w.o.Entry}
	read, failed, err := w.reader.ReadLayer(ctx, it.Work, sink)
	if err != nil {
		if errors.Is(err, postgres.ErrLeaseLost) || ctx.Err() != nil {
			return err
		}
		w.fail(ctx, item, fmt.Sprintf("layer %s: %v", it.Work.Digest, err))
		return nil
	}
	// A scanner's failure on a layer is reported once, naming the image
	// that planned it, as a crawl reports it.
	for _, s := range failed {
		w.record(auditor.ScanError{Registry: it.Work.Registry, Repository: it.Work.Repository, Reference: it.Ref, LayerDigest: it.Work.Digest,
			Message: fmt.Sprintf("layer %s: scanner %s (version %s): %s", it.Work.Digest, s.Scanner, s.Version, s.Error)})
	}
	b, err := encode(layerResult{Read: read, Entries: sink.entries, Bytes: sink.size, Uncompressed: sink.usize})
	if err != nil {
		return err
	}
	if err := w.db.Complete(ctx, item, b); err != nil {
		return err
	}
	w.layers.Add(1)
	return nil
}

// doImage stores an image whose layers are done, or reports the first of
// them that failed, as a crawl reports an image whose layer failed.
func (w *worker) doImage(ctx context.Context, item *postgres.Work) error {
	var it imageItem
	if err := decode(item.Payload, &it); err != nil {
		return err
	}
	it.restore()
	failed, err := w.db.FailedLayers(ctx, w.scan, item.Deps)
	if err != nil {
		return err
	}
	for _, d := range it.Image.Layers {
		if msg, ok := failed[d]; ok {
			w.record(auditor.ScanError{Registry: it.Repo.Registry, Repository: it.Repo.Name, Reference: it.Ref, LayerDigest: d, Message: msg})
			w.fail(ctx, item, msg)
			return nil
		}
	}
	if err := w.db.PutImage(ctx, it.Repo, it.IndexDigest, it.Image); err != nil {
		if ctx.Err() != nil {
			return err
		}
		w.record(auditor.ScanError{Registry: it.Repo.Registry, Repository: it.Repo.Name, Reference: it.Ref, Message: err.Error()})
		w.fail(ctx, item, err.Error())
		return nil
	}
	if err := w.db.Complete(ctx, item, nil); err != nil {
		return err
	}
	w.images.Add(1)
	return nil
}

// finish ends the drained scan: its counters summed from the plannings and
// the items, its errors as recorded by every worker, then scan.Finish
// (status, packages, end, rules).
func (w *worker) finish(ctx context.Context, res *scan.Result, started time.Time) (*scan.Result, error) {
	plans, err := w.db.PlanStats(ctx, w.scan)
	if err != nil {
		return nil, err
	}
	var st crawl.Stats
	var crawlErr error
	for _, b := range plans {
		var ps planStats
		if err := decode(b, &ps); err != nil {
			return nil, err
		}
		s := ps.Stats
		st.Repositories += s.Repositories
		st.RepositoriesDone += s.RepositoriesDone
		st.Tags += s.Tags
		st.TagsDone += s.TagsDone
		st.Images += s.Images
		st.LayersSkipped += s.LayersSkipped
		st.Artifacts += s.Artifacts
		st.Missing += s.Missing
		st.Answered += s.Answered
		st.Unanswered += s.Unanswered
		st.PlatformMisses += s.PlatformMisses
		if ps.Err != "" && crawlErr == nil {
			crawlErr = errors.New(ps.Err)
		}
	}
	results, err := w.db.WorkResults(ctx, w.scan, postgres.WorkLayer)
	if err != nil {
		return nil, err
	}
	for _, b := range results {
		var r layerResult
		if err := decode(b, &r); err != nil {
			return nil, err
		}
		if !r.Read {
			st.LayersSkipped++
			continue
		}
		st.LayersRead++
		st.LayersToRead++
		st.Files += r.Entries
		st.BytesRead += r.Bytes
		st.UncompressedBytes += r.Uncompressed
	}
	errs, err := w.db.ScanErrors(ctx, w.scan)
	if err != nil {
		return nil, err
	}
	res.Errors = errs
	st.Errors = int64(len(errs))
	res.Stats = st
	o := w.o.Options
	o.Crawl.OnError = w.record
	return scan.Finish(ctx, w.db, res, crawlErr, o, started)
}

// heartbeat records this worker alive, every third of a lease, and learns
// how many workers are (seen within a lease).
func (w *worker) heartbeat(ctx context.Context) {
	for {
		n, err := w.db.Heartbeat(ctx, w.scan, w.name, w.o.Lease)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("heartbeat", "error", err)
		}
		if n > 0 {
			w.live.Store(int64(n))
		}
		if sleep(ctx, w.o.Lease/3) != nil {
			return
		}
	}
}

// layerSink is the database, seen by the crawler reading one claimed
// layer: its writer is fenced by the claim, and counts what it stored.
type layerSink struct {
	db                   *postgres.DB
	work                 *postgres.Work
	entry                func(string, int64)
	entries, size, usize int64
}

func (s *layerSink) HasLayer(ctx context.Context, d string) (bool, error) {
	return s.db.HasLayer(ctx, d)
}
func (s *layerSink) LayerByDiffID(ctx context.Context, d string) (string, error) {
	return s.db.LayerByDiffID(ctx, d)
}

func (s *layerSink) BeginLayer(ctx context.Context, digest string, maxEntries int64) (crawl.LayerWriter, error) {
	lw, err := s.db.BeginFencedLayer(ctx, digest, maxEntries, s.work, nil)
	if err != nil {
		return nil, err
	}
	return &fencedWriter{LayerWriter: lw, s: s}, nil
}

type fencedWriter struct {
	*postgres.LayerWriter
	s *layerSink
}

func (f *fencedWriter) Add(ctx context.Context, e auditor.Entry) error {
	err := f.LayerWriter.Add(ctx, e)
	if f.s.entry != nil && err == nil {
		f.s.entry(f.s.work.Key, f.Len())
	}
	return err
}

func (f *fencedWriter) Commit(ctx context.Context, l *auditor.Layer) error {
	if err := f.LayerWriter.Commit(ctx, l); err != nil {
		return err
	}
	f.s.entries, f.s.size, f.s.usize = f.Len(), l.Size, l.UncompressedSize
	return nil
}

var (
	_ crawl.LayerStore  = (*layerSink)(nil)
	_ crawl.LayerWriter = (*fencedWriter)(nil)
	_ crawl.Planner     = (*planner)(nil)
)
