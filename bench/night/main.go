// Command night measures what the rule pack costs after a night in which a
// few images changed, against a full run of the pack on the same index.
// It works on an index bench/bigindex wrote (bench/synth's fleet) and
// changes it: run it on a copy.
//
// Usage: night [-rows R] [-changed F] [-rounds N] [-disable IDS] DB
//
// R is the -rows the index was written with (bigindex's default too).
// IDS (comma-separated rule ids or globs) are left out of the pack, e.g. a
// rule that returns more rows than a rule may on a big index.
//
// First it records a scan of the index as it is and runs the default pack
// on it (every image is new to the rules). Then, N times: a night, in which
// the fraction F of the images (every 1/F-th, from a different one each
// round) get a new release under their tag (synth's Release: a rebuilt top
// layer, a new image digest) and every other tag is seen again, as a warm
// scan records it; the pack's run after it (what auditor scan runs:
// incremental); and then a full run of the pack on the same index (Full:
// every image evaluated again). Nights and full runs alternate, so each
// ratio compares runs on the same index a minute apart.
//
// It prints a markdown table on stderr (each round's times and the slowest
// rules of the last night) and one line of KEY=VALUE figures on stdout.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/bench/synth"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/rules"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	changed := flag.Float64("changed", 0.01, "fraction of the images that change each night")
	rounds := flag.Int("rounds", 2, "nights, each followed by a full run")
	specRows := flag.Int("rows", 10_000_000, "the -rows bench/bigindex wrote DB with")
	disable := flag.String("disable", "", "comma-separated rule ids (or globs) to leave out of the pack")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: night [-rows R] [-changed F] [-rounds N] [-disable IDS] DB")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *changed <= 0 || *changed > 1 || *rounds < 1 {
		flag.Usage()
		os.Exit(2)
	}
	var off []string
	if *disable != "" {
		off = strings.Split(*disable, ",")
	}
	if err := run(ctx, flag.Arg(0), *specRows, *changed, *rounds, off); err != nil {
		fmt.Fprintf(os.Stderr, "night: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string, specRows int, changed float64, rounds int, disable []string) error {
	db, err := index.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	var rows int64
	if err := db.Reader().QueryRowContext(ctx, `SELECT COALESCE(sum(entries), 0) FROM layers`).Scan(&rows); err != nil {
		return err
	}
	spec := synth.Scaled(specRows)
	var images int
	if err := db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM manifests WHERE is_index = 0`).Scan(&images); err != nil {
		return err
	}
	if images < spec.Images() {
		return fmt.Errorf("%s has %d images, bench/bigindex -rows %d writes %d: not its index?", path, images, specRows, spec.Images())
	}
	set, err := rules.NewSet(rules.SetOptions{Disable: disable})
	if err != nil {
		return err
	}
	every := max(1, int(1/changed+0.5))

	// scan records a scan in which the images change says get release
	// number release, and every other tag is seen again, pointing where it
	// did.
	current := make([]int, spec.Images()) // each image's release, 0 for the first
	scan := func(release int, change func(img int) bool) (int, error) {
		id, err := db.BeginScan(ctx, "bench/night", "bench")
		if err != nil {
			return 0, err
		}
		n := 0
		for a := range spec.Apps {
			for t := range spec.Tags {
				i := a*spec.Tags + t
				tag, img := spec.Image(a, t)
				if change(i) {
					current[i] = release
					l, _, rel := spec.Release(a, t, release)
					if err := db.PutLayer(ctx, l); err != nil {
						return 0, err
					}
					if err := db.PutImage(ctx, spec.Repo(a), "", rel); err != nil {
						return 0, err
					}
					n++
				}
				if current[i] > 0 {
					_, _, rel := spec.Release(a, t, current[i])
					img = rel
				}
				if err := db.PutTag(ctx, spec.Repo(a), tag, img.Digest); err != nil {
					return 0, err
				}
			}
		}
		return n, db.FinishScan(ctx, id, index.ScanOK, auditor.ScanStats{Tags: int64(spec.Images()), Images: int64(spec.Images())})
	}
	pack := func(full bool) (*rules.Result, error) {
		res, err := rules.Run(ctx, db, set, rules.RunOptions{Full: full})
		if err == nil {
			err = res.Err()
		}
		return res, err
	}

	if _, err := scan(0, func(int) bool { return false }); err != nil {
		return err
	}
	first, err := pack(false)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "night: first run of %d rules on %d images: %s, %d findings\n", len(set.Rules), images, first.Duration.Round(time.Millisecond), first.Counts.Findings)
	fmt.Fprintf(os.Stderr, "| rules on the %d-row index, %d images | changed images | night, s | full run, s | night / full |\n|---|---:|---:|---:|---:|\n", rows, images)
	var nights, fulls []time.Duration
	var last, lastFull *rules.Result
	for r := 1; r <= rounds; r++ {
		n, err := scan(r, func(img int) bool { return img%every == (r-1)%every })
		if err != nil {
			return err
		}
		night, err := pack(false)
		if err != nil {
			return err
		}
		if _, err := scan(r, func(int) bool { return false }); err != nil { // nothing changed: the full run's own scan
			return err
		}
		full, err := pack(true)
		if err != nil {
			return err
		}
		nights, fulls = append(nights, night.Duration), append(fulls, full.Duration)
		last, lastFull = night, full
		fmt.Fprintf(os.Stderr, "| round %d (%d new findings, %d resolved) | %d | %.2f | %.2f | %.3f |\n", r, night.Counts.New, night.Counts.Resolved, n,
			night.Duration.Seconds(), full.Duration.Seconds(), night.Duration.Seconds()/full.Duration.Seconds())
	}
	fmt.Fprintf(os.Stderr, "\n| slowest rules, last round | images evaluated | night, ms | full run, ms |\n|---|---:|---:|---:|\n")
	order := make([]int, len(last.Rules))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return cmp.Compare(last.Rules[j].Duration, last.Rules[i].Duration) })
	var sum, sumFull time.Duration
	for i := range last.Rules {
		sum += last.Rules[i].Duration
		sumFull += lastFull.Rules[i].Duration
	}
	for _, i := range order[:min(8, len(order))] {
		rr := last.Rules[i]
		images := "(whole index)"
		if rr.Rule.Scope == rules.ScopeImage {
			images = fmt.Sprint(rr.Images)
		}
		fmt.Fprintf(os.Stderr, "| %s | %s | %.1f | %.1f |\n", rr.Rule.ID, images, ms(rr.Duration), ms(lastFull.Rules[i].Duration))
	}
	fmt.Fprintf(os.Stderr, "| all %d rules, summed (they run %d at a time) | | %.1f | %.1f |\n| the whole run (rules, scopes, fleet files, recording) | | %.1f | %.1f |\n",
		len(last.Rules), rules.DefaultJobs, ms(sum), ms(sumFull), ms(last.Duration), ms(lastFull.Duration))
	best := func(ds []time.Duration) time.Duration { return slices.Min(ds) }
	kv := []string{
		fmt.Sprintf("NIGHT_ROWS=%d NIGHT_IMAGES=%d NIGHT_CHANGED=%d NIGHT_FIRST_S=%.3f", rows, images, images/every, first.Duration.Seconds()),
		fmt.Sprintf("NIGHT_S=%.3f NIGHT_FULL_S=%.3f NIGHT_RATIO=%.4f", best(nights).Seconds(), best(fulls).Seconds(), best(nights).Seconds()/best(fulls).Seconds()),
		fmt.Sprintf("NIGHT_ALL=%q NIGHT_FULL_ALL=%q", secs(nights), secs(fulls)),
	}
	fmt.Println(strings.Join(kv, " "))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func secs(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = fmt.Sprintf("%.2f", d.Seconds())
	}
	return strings.Join(s, " ")
}
