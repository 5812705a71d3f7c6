// Command bigindex builds a large synthetic index (10 million file rows by
// default) through the real writer (index.Open, PutLayer, PutImage, PutTag)
// from bench/synth's generated fleet, and reports the writer's throughput.
// Measure lookups on the result with bench/lookup.
//
// Usage: bigindex [-rows N] [-force] DB
//
// It prints progress and a summary on stderr and one line of KEY=VALUE
// figures on stdout (BIG_ROWS, BIG_LAYERS, BIG_IMAGES, BIG_SECONDS,
// BIG_LAYER_ROWS_PER_S, BIG_IMAGES_PER_S, BIG_DB_BYTES, BIG_PEAK_RSS_MB), also written to
// DB.bigindex.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/auditor-dev/auditor/bench/synth"
	"github.com/auditor-dev/auditor/index"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rows := flag.Int("rows", 10_000_000, "file rows (tar entries) to generate, about")
	force := flag.Bool("force", false, "replace DB if it exists")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: bigindex [-rows N] [-force] DB")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *rows < 1000 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(ctx, flag.Arg(0), *rows, *force); err != nil {
		fmt.Fprintf(os.Stderr, "bigindex: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string, rows int, force bool) error {
	if _, err := os.Stat(path); err == nil {
		if !force {
			return fmt.Errorf("%s exists (use -force to replace it)", path)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	spec := synth.Scaled(rows)
	fmt.Fprintf(os.Stderr, "bigindex: %+v: about %d rows, %d images\n", spec, spec.Rows(), spec.Images())
	db, err := index.Open(ctx, path)
	if err != nil {
		return err
	}
	start := time.Now()
	last := start
	res, err := spec.Generate(ctx, db, func(r synth.Result) {
		if time.Since(last) < 10*time.Second {
			return
		}
		last = time.Now()
		fmt.Fprintf(os.Stderr, "bigindex: %s: %d layers, %d rows (%.0f rows/s in PutLayer), %d images (%.1f/s in PutImage)\n",
			time.Since(start).Round(time.Second), r.Layers, r.Rows, float64(r.Rows)/r.PutLayer.Seconds(), r.Images, float64(r.Images)/r.PutImage.Seconds())
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	total := time.Since(start)
	var size int64
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			size += st.Size()
		}
	}
	fmt.Fprintf(os.Stderr, "bigindex: %d layers, %d rows, %d images in %s (building values %s, PutLayer %s = %.0f rows/s, PutImage+PutTag %s = %.1f images/s); %d bytes, %.1f B/row\n",
		res.Layers, res.Rows, res.Images, total.Round(time.Second), res.Build.Round(time.Second),
		res.PutLayer.Round(time.Second), float64(res.Rows)/res.PutLayer.Seconds(),
		res.PutImage.Round(time.Second), float64(res.Images)/res.PutImage.Seconds(), size, float64(size)/float64(res.Rows))
	kv := fmt.Sprintf("BIG_ROWS=%d BIG_LAYERS=%d BIG_IMAGES=%d BIG_SECONDS=%.1f BIG_BUILD_SECONDS=%.1f BIG_PUTLAYER_SECONDS=%.1f BIG_LAYER_ROWS_PER_S=%.0f BIG_PUTIMAGE_SECONDS=%.1f BIG_IMAGES_PER_S=%.2f BIG_DB_BYTES=%d BIG_PEAK_RSS_MB=%s\n",
		res.Rows, res.Layers, res.Images, total.Seconds(), res.Build.Seconds(), res.PutLayer.Seconds(), float64(res.Rows)/res.PutLayer.Seconds(),
		res.PutImage.Seconds(), float64(res.Images)/res.PutImage.Seconds(), size, peakRSS())
	fmt.Print(kv)
	// Kept beside the index, so a run that reuses it can report how it was made.
	return os.WriteFile(path+".bigindex", []byte(kv), 0o644)
}

// peakRSS returns the process's peak resident set size in MB, from
// /proc/self/status (VmHWM), or "?" where there is none.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return strconv.FormatInt(kb/1024, 10)
			}
		}
	}
	return "?"
}
