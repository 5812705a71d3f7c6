package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/internal/safetext"
	"github.com/auditor-dev/auditor/scan"
)

// progress shows a scan's progress: bars on a terminal, a log line every
// few seconds otherwise; nothing when quiet, and only the crawler's log
// lines with noProgress.
type progress struct {
	ctx   context.Context
	out   io.Writer
	quiet bool
	off   bool // no bars nor progress lines: quiet, or --no-progress
	tty   bool // bars (a terminal, and progress shown)

	p      *mpb.Progress
	done   chan struct{}
	wg     sync.WaitGroup
	repos  *mpb.Bar
	tags   *mpb.Bar
	layers *mpb.Bar
	bytes  *mpb.Bar
}

var _ scan.Progress = (*progress)(nil)

func newProgress(ctx context.Context, out io.Writer, quiet, noProgress bool) *progress {
	off := quiet || noProgress
	return &progress{ctx: ctx, out: out, quiet: quiet, off: off, tty: !off && isTerminal(out), done: make(chan struct{})}
}

// isTerminal reports whether w is a terminal (progress bars) rather than a
// file or pipe (plain log lines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// logger returns where the crawler logs: plain lines unless bars are shown,
// in which case only errors, printed above the bars; every value escaped by
// safetext, as every other line about an image is.
func (p *progress) logger() *slog.Logger {
	switch {
	case p.quiet:
		return slog.New(slog.DiscardHandler)
	case p.tty:
		p.p = mpb.NewWithContext(p.ctx, mpb.WithOutput(p.out), mpb.WithWidth(32), mpb.WithRefreshRate(150*time.Millisecond))
		return slog.New(safetext.NewLogHandler(p.p, slog.LevelError))
	}
	return slog.New(safetext.NewLogHandler(p.out, slog.LevelInfo))
}

func (p *progress) Start(stats func() crawl.Stats) {
	if p.off {
		return
	}
	p.wg.Add(1)
	if !p.tty {
		go func() {
			defer p.wg.Done()
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-p.done:
					return
				case <-t.C:
					s := stats()
					slog.New(safetext.NewLogHandler(p.out, nil)).Info("progress",
						"repositories", s.RepositoriesDone, "tags", s.TagsDone, "images", s.Images,
						"layers_read", s.LayersRead, "bytes_read", s.BytesRead, "errors", s.Errors)
				}
			}
		}()
		return
	}
	count := func(label string) *mpb.Bar {
		return p.p.AddBar(0,
			mpb.PrependDecorators(decor.Name(label, decor.WC{W: 14, C: decor.DindentRight})),
			mpb.AppendDecorators(decor.CountersNoUnit("%d / %d")))
	}
	p.repos = count("repositories")
	p.tags = p.p.AddBar(0,
		mpb.PrependDecorators(decor.Name("tags", decor.WC{W: 14, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.CountersNoUnit("%d / %d"), decor.Any(func(decor.Statistics) string {
			return fmt.Sprintf("  images %d", stats().Images)
		})))
	p.layers = count("layers read")
	p.bytes = p.p.AddBar(0,
		mpb.PrependDecorators(decor.Name("bytes read", decor.WC{W: 14, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Current(decor.SizeB1024(0), "% .1f"), decor.Name("  "), decor.AverageSpeed(decor.SizeB1024(0), "% .1f")))
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for {
			p.update(stats(), false)
			select {
			case <-p.done:
				return
			case <-t.C:
			}
		}
	}()
}

// update shows s. The final update completes the bars that are full and
// stops the others where they are (a layer failed, so fewer were read than
// there were to read): mpb's Wait would otherwise wait for them for ever.
func (p *progress) update(s crawl.Stats, final bool) {
	set := func(b *mpb.Bar, cur, total int64) {
		total = max(total, cur)
		switch {
		case !final:
			b.SetTotal(total, false)
			b.SetCurrent(cur)
		case cur == total:
			b.SetCurrent(cur)
			b.SetTotal(total, true)
		default:
			b.SetTotal(total, false)
			b.SetCurrent(cur)
			b.Abort(false)
		}
	}
	set(p.repos, s.RepositoriesDone, s.Repositories)
	set(p.tags, s.TagsDone, s.Tags)
	set(p.layers, s.LayersRead, s.LayersToRead)
	set(p.bytes, s.BytesRead, s.BytesRead)
}

func (p *progress) Stop(s crawl.Stats) {
	if p.off {
		return
	}
	close(p.done)
	p.wg.Wait()
	if p.tty {
		p.update(s, true)
		p.p.Wait()
	}
}
