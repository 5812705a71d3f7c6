// Command pushtag pushes a new tag that shares all but one layer with an
// existing image: the source image with its top layer replaced by a new one
// of generated files (the way a new release of an application differs from
// the previous one). bench/run uses it to measure a partial re-scan.
//
// Usage: pushtag [-files N] SRC DST
//
//	pushtag -tags N SRC DST
//
// SRC and DST are image references (host/repo:tag). The new layer keeps the
// media type of the layer it replaces; the config keeps everything but the
// replaced layer's diff_id and history entry.
//
// With -tags N, nothing new is built: SRC's manifest is PUT as it is under N
// tags of DST's repository, DST's tag followed by -0, -1, ... (the blobs are
// copied there first if DST is another repository), for bench/run's warm
// re-scan of many tags: N tags cost N manifest PUTs and no blob.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	files := flag.Int("files", 300, "files in the new top layer")
	tags := flag.Int("tags", 0, "push SRC's manifest unchanged under this many tags DST-0, DST-1, ... instead")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pushtag [-files N] SRC DST\n       pushtag -tags N SRC DST")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 || *files < 1 || *tags < 0 {
		flag.Usage()
		os.Exit(2)
	}
	run := run
	if *tags > 0 {
		run = func(ctx context.Context, src, dst string, _ int) error { return manyTags(ctx, src, dst, *tags) }
	}
	if err := run(ctx, flag.Arg(0), flag.Arg(1), *files); err != nil {
		fmt.Fprintf(os.Stderr, "pushtag: %v\n", err)
		os.Exit(1)
	}
}

// options are the remote options for the fleet's registry.
func options(ctx context.Context) []remote.Option {
	auth := authn.Anonymous
	if u := os.Getenv("FLEET_USER"); u != "" {
		auth = &authn.Basic{Username: u, Password: os.Getenv("FLEET_PASS")}
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}
}

// manyTags PUTs src's manifest under n tags of dst's repository, 8 at a
// time.
func manyTags(ctx context.Context, src, dst string, n int) error {
	opts := options(ctx)
	sref, err := name.ParseReference(src)
	if err != nil {
		return err
	}
	dref, err := name.NewTag(dst)
	if err != nil {
		return err
	}
	desc, err := remote.Get(sref, opts...)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	// The first tag through remote.Write or WriteIndex copies the blobs
	// (mounted or not) when dst is another repository; the rest are
	// manifest PUTs alone.
	first := dref.Repository.Tag(dref.TagStr() + "-0")
	if desc.MediaType.IsIndex() {
		idx, ierr := desc.ImageIndex()
		if ierr != nil {
			return ierr
		}
		err = remote.WriteIndex(first, idx, opts...)
	} else {
		img, ierr := desc.Image()
		if ierr != nil {
			return ierr
		}
		err = remote.Write(first, img, opts...)
	}
	if err != nil {
		return fmt.Errorf("push %s: %w", first, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	topts := options(gctx)
	for i := 1; i < n; i++ {
		t := dref.Repository.Tag(fmt.Sprintf("%s-%d", dref.TagStr(), i))
		g.Go(func() error {
			if err := remote.Tag(t, desc, topts...); err != nil {
				return fmt.Errorf("push %s: %w", t, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "pushtag: pushed %s@%s as %d tags %s-0 .. %s-%d\n", dref.Repository, desc.Digest, n, dref.TagStr(), dref.TagStr(), n-1)
	return nil
}

func run(ctx context.Context, src, dst string, files int) error {
	opts := options(ctx)
	sref, err := name.ParseReference(src)
	if err != nil {
		return err
	}
	dref, err := name.ParseReference(dst)
	if err != nil {
		return err
	}
	img, err := remote.Image(sref, opts...)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	out, err := replaceTop(img, files, dst)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if err := remote.Write(dref, out, opts...); err != nil {
		return fmt.Errorf("push %s: %w", dst, err)
	}
	d, err := out.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "pushtag: pushed %s@%s (layers of %s but the top one, plus %d new files)\n", dst, d, src, files)
	return nil
}

// replaceTop rebuilds img with its last layer replaced by a new layer of n
// generated files; the other layers are the same blobs.
func replaceTop(img v1.Image, n int, label string) (v1.Image, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) < 2 {
		return nil, fmt.Errorf("has %d layers; need at least 2", len(layers))
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	topType, err := layers[len(layers)-1].MediaType()
	if err != nil {
		return nil, err
	}

	// Pair each layer with its history entry (the non-empty ones, in order).
	var layerHist []v1.History
	for _, h := range cf.History {
		if !h.EmptyLayer {
			layerHist = append(layerHist, h)
		}
	}
	base := cf.DeepCopy()
	base.RootFS.DiffIDs = nil
	base.History = nil
	out, err := mutate.ConfigFile(mutate.ConfigMediaType(mutate.MediaType(empty.Image, mt), m.Config.MediaType), base)
	if err != nil {
		return nil, err
	}
	var adds []mutate.Addendum
	for i, l := range layers[:len(layers)-1] {
		a := mutate.Addendum{Layer: l}
		if i < len(layerHist) {
			a.History = layerHist[i]
		}
		adds = append(adds, a)
	}
	fm := map[string][]byte{"opt/bench/VERSION": []byte(label + "\n")}
	for k := range n {
		fm[fmt.Sprintf("opt/bench/static/asset-%d.txt", k)] = fmt.Appendf(nil, "asset %d of %s\n%0*d\n", k, label, k%64+1, k)
	}
	nl, err := crane.Layer(fm)
	if err != nil {
		return nil, err
	}
	adds = append(adds, mutate.Addendum{Layer: nl, MediaType: topType,
		History: v1.History{CreatedBy: "/bin/sh -c #(nop) COPY dir:bench in /opt/bench ", Created: cf.Created}})
	return mutate.Append(out, adds...)
}
