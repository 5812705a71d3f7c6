package querytest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
)

// Synthetic shapes of a big index, for benchmarks.
const (
	SyntheticRarePath  = "/opt/app-1/bin/only-here" // in one image
	SyntheticBashPath  = "/usr/bin/bash"            // in every base layer
	syntheticBaseEvery = 10                         // layers per base: 1 base, 9 app layers on it
)

// SyntheticHash returns the content hash Synthetic gives path p in base b
// (the bash of base 0 is SyntheticHash(0, SyntheticBashPath)).
func SyntheticHash(base int, p string) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%d:%s", base, p)))
	return hex.EncodeToString(h[:])
}

// Synthetic writes, through the real index writer, an index of about
// entries layer entries at path: layers of perLayer entries, one base
// layer in ten (sharing most paths, and /usr/bin/bash) and nine app
// layers on each, each app layer an image (base + app) in one of 50
// repositories. Paths repeat across layers as in a real fleet; contents
// are shared between bases of the same generation.
func Synthetic(ctx context.Context, path string, entries, perLayer int) error {
	db, err := index.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	layers := max(entries/perLayer, 2*syntheticBaseEvery)
	id, err := db.BeginScan(ctx, "synthetic", "bench")
	if err != nil {
		return err
	}
	digest := func(kind string, n int) string {
		h := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", kind, n)))
		return "sha256:" + hex.EncodeToString(h[:])
	}
	var base string
	for l := 0; l < layers; l++ {
		isBase := l%syntheticBaseEvery == 0
		gen := l / syntheticBaseEvery
		layer := &auditor.Layer{Digest: digest("layer", l), Compression: "gzip", Size: int64(perLayer * 100), UncompressedSize: int64(perLayer * 400)}
		for i := 0; i < perLayer; i++ {
			var p, sum string
			if isBase {
				p = fmt.Sprintf("/usr/lib/pkg%03d/file%05d.so", i%500, i)
				sum = SyntheticHash(gen/4, p) // four generations share each base's contents
				if i == 0 {
					p, sum = SyntheticBashPath, SyntheticHash(gen/4, SyntheticBashPath)
				}
			} else {
				p = fmt.Sprintf("/opt/app-%d/lib/mod%03d/f%05d.py", l, i%300, i)
				sum = SyntheticHash(-l, p)
				if i == 0 {
					p = fmt.Sprintf("/opt/app-%d/bin/only-here", l)
				}
			}
			layer.Entries = append(layer.Entries, auditor.Entry{Path: p, Type: auditor.TypeFile, Mode: 0o644, Size: 1000,
				SHA256: sum, Kind: auditor.KindOther, ModTime: now})
		}
		if err := db.PutLayer(ctx, layer); err != nil {
			return err
		}
		if isBase {
			base = layer.Digest
			continue
		}
		repo := auditor.Repo{Registry: "big.test", Name: fmt.Sprintf("team-%02d/app", l%50)}
		img := &auditor.Image{Digest: digest("image", l), MediaType: "application/vnd.oci.image.manifest.v1+json",
			ConfigDigest: digest("config", l), Platform: auditor.Platform{OS: "linux", Architecture: "amd64"},
			Created: now, Layers: []string{base, layer.Digest}}
		if err := db.PutTag(ctx, repo, fmt.Sprintf("v%d", l), img.Digest); err != nil {
			return err
		}
		if err := db.PutImage(ctx, repo, "", img); err != nil {
			return err
		}
	}
	return db.FinishScan(ctx, id, index.ScanOK, auditor.ScanStats{})
}
