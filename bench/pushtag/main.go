// Command pushtag pushes a new tag that shares all but one layer with an
// existing image: the source image with its top layer replaced by a new one
// of generated files (the way a new release of an application differs from
// the previous one). bench/run uses it to measure a partial re-scan.
//
// Usage: pushtag [-files N] SRC DST
//
// SRC and DST are image references (host/repo:tag). The new layer keeps the
// media type of the layer it replaces; the config keeps everything but the
// replaced layer's diff_id and history entry.
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	files := flag.Int("files", 300, "files in the new top layer")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pushtag [-files N] SRC DST")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 || *files < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(ctx, flag.Arg(0), flag.Arg(1), *files); err != nil {
		fmt.Fprintf(os.Stderr, "pushtag: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, src, dst string, files int) error {
	auth := authn.Anonymous
	if u := os.Getenv("FLEET_USER"); u != "" {
		auth = &authn.Basic{Username: u, Password: os.Getenv("FLEET_PASS")}
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}
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
