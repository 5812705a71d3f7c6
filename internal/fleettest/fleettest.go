// Package fleettest gives tests the shared test fleet: the address of the
// real registry started by ../shared/fleet/registry-up, what fleet.list and
// MANIFEST.md say it holds, and an index of it built by a real scan.
package fleettest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
)

// Registry returns the fleet registry's host:port. Without FLEET_REGISTRY the
// test is skipped, or fails under CI (CI=true), where the registry must run.
func Registry(tb testing.TB) string {
	tb.Helper()
	r := os.Getenv("FLEET_REGISTRY")
	if r == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("FLEET_REGISTRY is not set: .ci/run must start the fleet registry")
		}
		tb.Skip("FLEET_REGISTRY not set; start it with: eval \"$(../shared/fleet/registry-up)\" && ../shared/fleet/push")
	}
	return r
}

// StorageDir returns the registry's blob storage directory ($FLEET_DIR/storage),
// for tests that corrupt blobs on purpose.
func StorageDir(tb testing.TB) string {
	tb.Helper()
	Registry(tb)
	d := os.Getenv("FLEET_DIR")
	if d == "" {
		tb.Skip("FLEET_DIR not set")
	}
	return filepath.Join(d, "storage", "docker", "registry", "v2")
}

// Dir returns the shared fleet directory (../shared/fleet from the module
// root, or $FLEET_SHARED).
func Dir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("FLEET_SHARED"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(d), "shared", "fleet")
		}
		if filepath.Dir(d) == d {
			tb.Fatal("no go.mod above " + wd)
		}
	}
}

// PushFleet runs the shared fleet's push script with env (which names the
// registry, and may name FLEET_LIST and FLEET_IMAGES), up to three times a
// second apart while a push fails, as scripts/with-fleet does: the script copies several tags
// at once, and Distribution 2.8 can lose the race of two tags of one
// repository uploading the same blob (a 500 on "trying to reuse blob", seen in
// CI; under load it also answers 500 now and then). Another push copies only
// what is missing and checks every digest again, so a registry that stays
// broken still fails the test.
func PushFleet(tb testing.TB, env []string) {
	tb.Helper()
	var outs [][]byte
	for try := 0; try < 3; try++ {
		if try > 0 {
			time.Sleep(time.Second)
		}
		push := exec.Command(filepath.Join(Dir(tb), "push"))
		push.Env = env
		out, err := push.CombinedOutput()
		if err == nil {
			return
		}
		outs = append(outs, out)
		if try == 2 {
			tb.Fatalf("push failed three times: %v\nfirst push:\n%s\nlast push:\n%s", err, outs[0], out)
		}
	}
}

// Tag is one line of fleet.list.
type Tag struct {
	Repository, Tag, Digest string
}

// Tags parses images/fleet.list.
func Tags(tb testing.TB) []Tag {
	tb.Helper()
	f, err := os.Open(filepath.Join(Dir(tb), "images", "fleet.list"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []Tag
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 {
			tb.Fatalf("fleet.list: bad line %q", line)
		}
		repo, tag, _ := strings.Cut(fields[1], ":")
		out = append(out, Tag{Repository: repo, Tag: tag, Digest: fields[3]})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

var layerRow = regexp.MustCompile("^\\| \\d+ \\| [^|]+ \\| [\\d,]+ \\| `([0-9a-f]{12})` \\|.*\\| entries (\\d+)")

// LayerEntries parses MANIFEST.md: the tar entry count of every registry
// layer, keyed by the first 12 hex digits of its digest.
func LayerEntries(tb testing.TB) map[string]int {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(tb), "images", "MANIFEST.md"))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := layerRow.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[2])
			out[m[1]] = n
		}
	}
	if len(out) == 0 {
		tb.Fatal("MANIFEST.md: no layer rows found")
	}
	return out
}

var (
	scanOnce sync.Once
	scanDir  string
	scanErr  error
)

// Options returns crawler options that limit a scan of the whole fleet
// registry (through its catalog) to the repositories of fleet.list, so that
// test images other tests push do not change what it finds.
func Options(tb testing.TB) crawl.Options {
	tb.Helper()
	return OptionsFor(tb, Registry(tb))
}

// OptionsFor is Options for the fleet served at host (a proxy in front of
// the fleet registry, say).
func OptionsFor(tb testing.TB, host string) crawl.Options {
	tb.Helper()
	return crawl.Options{Registries: map[string]crawl.Registry{host: {Include: Repositories(tb)}}}
}

// Repositories lists the repositories of fleet.list.
func Repositories(tb testing.TB) []string {
	tb.Helper()
	var repos []string
	seen := map[string]bool{}
	for _, t := range Tags(tb) {
		if !seen[t.Repository] {
			seen[t.Repository] = true
			repos = append(repos, t.Repository)
		}
	}
	return repos
}

// IncludeTOML is the config.toml line that limits a registry section to the
// fleet.list repositories, for tests of the binary.
func IncludeTOML(tb testing.TB) string {
	tb.Helper()
	var quoted []string
	for _, r := range Repositories(tb) {
		quoted = append(quoted, strconv.Quote(r))
	}
	return "include = [" + strings.Join(quoted, ", ") + "]\n"
}

// Index returns the path of an index built by one real scan of the fleet
// registry (limited by Options), shared by the tests of a package (read it, do not write
// it). The scan runs once per test binary.
func Index(tb testing.TB) string {
	tb.Helper()
	reg := Registry(tb)
	scanOnce.Do(func() {
		scanDir, scanErr = os.MkdirTemp("", "auditor-fleet-index-")
		if scanErr != nil {
			return
		}
		scanErr = Scan(context.Background(), filepath.Join(scanDir, "fleet.db"), Options(tb), reg)
	})
	if scanErr != nil {
		tb.Fatalf("scanning the fleet: %v", scanErr)
	}
	return filepath.Join(scanDir, "fleet.db")
}

// Cleanup removes the index Index built; call it from TestMain after m.Run.
func Cleanup() {
	if scanDir != "" {
		os.RemoveAll(scanDir)
	}
}

// Scan scans targets into the index at dbPath with opts and returns an
// error if the crawl failed or any image or layer failed.
func Scan(ctx context.Context, dbPath string, opts crawl.Options, targets ...string) error {
	db, err := index.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	var mu sync.Mutex
	var errs []string
	opts.OnError = func(e auditor.ScanError) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, e.Repository+" "+e.Reference+": "+e.Message)
	}
	cr, err := crawl.New(db, opts)
	if err != nil {
		return err
	}
	var ts []crawl.Target
	for _, t := range targets {
		pt, err := crawl.ParseTarget(t)
		if err != nil {
			return err
		}
		ts = append(ts, pt)
	}
	if err := cr.Scan(ctx, ts); err != nil {
		return err
	}
	if len(errs) > 0 {
		return &ScanErrors{Messages: errs}
	}
	return nil
}

// ScanErrors lists the per-image errors of a scan.
type ScanErrors struct{ Messages []string }

func (e *ScanErrors) Error() string { return "scan errors:\n" + strings.Join(e.Messages, "\n") }

// CPUTime is the process's user+system CPU time so far, for benchmarks that
// report a CPU cost.
func CPUTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
