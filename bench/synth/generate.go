package synth

import (
	"context"
	"fmt"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
)

// Writer is what Generate writes to; *index.DB implements it.
type Writer interface {
	PutLayer(ctx context.Context, l *auditor.Layer) error
	PutImage(ctx context.Context, repo auditor.Repo, indexDigest string, img *auditor.Image) error
	PutTag(ctx context.Context, repo auditor.Repo, tag, digest string) error
}

var _ Writer = (*index.DB)(nil)

// Result counts what Generate wrote and where the time went.
type Result struct {
	Layers, Rows, Images int64
	Build                time.Duration // making the Go values
	PutLayer             time.Duration // in Writer.PutLayer
	PutImage             time.Duration // in Writer.PutImage and PutTag
}

// Generate writes the whole fleet: base and runtime layers first, then each
// application's layer, its tags' layers and its images. progress, if not nil,
// is called after each application with the totals so far. ctx governs the
// writes; on error, what was written stays written.
func (s Spec) Generate(ctx context.Context, w Writer, progress func(Result)) (Result, error) {
	var res Result
	put := func(l *auditor.Layer) error {
		t := time.Now()
		if err := w.PutLayer(ctx, l); err != nil {
			return err
		}
		res.PutLayer += time.Since(t)
		res.Layers++
		res.Rows += int64(len(l.Entries))
		return nil
	}
	build := func(f func() *auditor.Layer) *auditor.Layer {
		t := time.Now()
		l := f()
		res.Build += time.Since(t)
		return l
	}
	for i := range s.Bases {
		if err := put(build(func() *auditor.Layer { return s.BaseLayer(i) })); err != nil {
			return res, err
		}
	}
	for i := range s.Stacks {
		if err := put(build(func() *auditor.Layer { return s.StackLayer(i) })); err != nil {
			return res, err
		}
	}
	for a := range s.Apps {
		if err := put(build(func() *auditor.Layer { return s.AppLayer(a) })); err != nil {
			return res, err
		}
		for t := range s.Tags {
			if err := put(build(func() *auditor.Layer { return s.TagLayer(a, t) })); err != nil {
				return res, err
			}
			tag, img := s.Image(a, t)
			start := time.Now()
			if err := w.PutImage(ctx, s.Repo(a), "", img); err != nil {
				return res, fmt.Errorf("app %d tag %d: %w", a, t, err)
			}
			if err := w.PutTag(ctx, s.Repo(a), tag, img.Digest); err != nil {
				return res, err
			}
			res.PutImage += time.Since(start)
			res.Images++
		}
		if progress != nil {
			progress(res)
		}
	}
	return res, nil
}
