package rules

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/internal/fleettest"
	"github.com/auditor-dev/auditor/scanners"
)

var (
	fleetOnce     sync.Once
	fleetDB       string
	fleetScanOnly string // the index as the scan left it, before any rules run
)

// fleetIndex scans the shared fleet's repositories once per test binary,
// with the default content patterns, and runs the default pack on it.
func fleetIndex(t testing.TB) string {
	t.Helper()
	reg := fleettest.Registry(t)
	fleetOnce.Do(func() {
		dir, err := tempDirOutsideTest()
		if err != nil {
			t.Fatal(err)
		}
		fleetDB = filepath.Join(dir, "fleet.db")
		// The fleet's own repositories only: other tests push theirs
		// (some broken on purpose) into the same registry.
		var repos []string
		for _, tag := range fleettest.Tags(t) {
			repos = append(repos, tag.Repository)
		}
		scanWith(t, fleetDB, crawl.Options{Scanners: []crawl.LayerScanner{testMatcher(t), scanners.NewConfig(0)}, Registries: map[string]crawl.Registry{reg: {Include: repos}}}, reg)
		fleetScanOnly = filepath.Join(dir, "fleet-scan-only.db")
		copyIndex(t, fleetDB, fleetScanOnly)
		runRules(t, fleetDB, defaultSet(t), RunOptions{})
	})
	if fleetDB == "" {
		t.Fatal("fleet index failed in an earlier test")
	}
	return fleetDB
}

// TestCleanFleetFindings: the clean images of the shared fleet (Debian
// base, nginx, redis, busybox, billing-worker) get these finding counts
// from the default pack: none at all but an info finding for redis's
// edited conffile and the toolbox's binaries that no package installed;
// in particular no high or critical.
// edge/corner-cases is the planted torture test and gets its own counts.
func TestCleanFleetFindings(t *testing.T) {
	db := fleetIndex(t)
	want := map[string]map[string]int{
		"library/debian":      {},
		"mirror/debian":       {},
		"apps/nginx":          {},
		"apps/redis":          {"info": 1}, // package-conffile-modified: the build's redis.conf
		"tools/busybox":       {},
		"corp/billing-worker": {},
		// unpackaged-system-executable: wget, jq and their three libraries
		// unpacked with dpkg -x, which the status database does not know.
		"ops/toolbox":       {"medium": 5},
		"legacy/hello":      {},
		"edge/corner-cases": {"high": 5, "medium": 4, "low": 13},
	}
	got := map[string]map[string]int{}
	for repo := range want {
		got[repo] = map[string]int{}
	}
	for _, f := range findings(t, db, Filter{}) {
		for _, repo := range strings.Fields(f.Repository) {
			if got[repo] == nil {
				t.Errorf("finding in unexpected repository %s: %s %s", repo, f.RuleID, f.Path)
				continue
			}
			got[repo][f.Severity.String()]++
			if want[repo][f.Severity.String()] == 0 {
				t.Errorf("%s: unexpected %s finding %s %s: %s", repo, f.Severity, f.RuleID, f.Path, f.Detail)
			}
		}
	}
	for repo, w := range want {
		for sev, n := range w {
			if got[repo][sev] != n {
				t.Errorf("%s: %d %s findings, want %d", repo, got[repo][sev], sev, n)
			}
		}
	}
}

// TestFleetContentMatches: the fleet holds no secret, so content checks
// find nothing; every layer was checked with the patterns' version.
func TestFleetContentMatches(t *testing.T) {
	db := fleetIndex(t)
	ctx := context.Background()
	idx := openRO(t, db)
	var matches, unchecked int
	if err := idx.Reader().QueryRowContext(ctx, `SELECT count(*) FROM content_matches`).Scan(&matches); err != nil {
		t.Fatal(err)
	}
	if err := idx.Reader().QueryRowContext(ctx, `SELECT count(*) FROM layers l WHERE NOT EXISTS
		(SELECT 1 FROM layer_scans c WHERE c.layer_digest = l.digest AND c.scanner = 'content' AND c.version = ? AND c.error IS NULL)`, testMatcher(t).Version()).Scan(&unchecked); err != nil {
		t.Fatal(err)
	}
	if matches != 0 || unchecked != 0 {
		t.Errorf("fleet: %d content matches, %d layers not checked; want 0 and 0", matches, unchecked)
	}
}

// BenchmarkDefaultPackFleet runs the whole default pack (evaluation and
// bookkeeping) on the shared fleet's index: "first" is the run right after
// a first scan (every image new, the fleet files' baseline recorded: what
// "auditor scan" does on a new index), "full" evaluates every rule on every
// image again, "unchanged" is a nightly run after a scan that found
// nothing new (rules of scope "image" have nothing to evaluate).
func BenchmarkDefaultPackFleet(b *testing.B) {
	db := fleetIndex(b)
	set := defaultSet(b)
	b.Run("first", func(b *testing.B) {
		fresh := filepath.Join(b.TempDir(), "first.db")
		var cpu time.Duration
		for b.Loop() {
			b.StopTimer()
			copyIndex(b, fleetScanOnly, fresh)
			c := fleettest.CPUTime(b)
			b.StartTimer()
			runRules(b, fresh, set, RunOptions{})
			cpu += fleettest.CPUTime(b) - c
		}
		b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	})
	for _, full := range []bool{true, false} {
		name := "unchanged"
		if full {
			name = "full"
		}
		b.Run(name, func(b *testing.B) {
			cpu := fleettest.CPUTime(b)
			for b.Loop() {
				runRules(b, db, set, RunOptions{Full: full})
			}
			b.ReportMetric(float64(fleettest.CPUTime(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// copyIndex copies the closed index src (its file, and its write-ahead log
// if one was left) to dst.
func copyIndex(t testing.TB, src, dst string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(dst + suffix)
	}
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(src + suffix)
		if suffix != "" && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFindingsTags checks the findings view's tags (read through the
// tag_history_digest index since migration 0004) against the first
// definition of the column, with a finding on every image of the fleet:
// tagged directly and through multi-arch indexes, in several repositories.
func TestFindingsTags(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tags.db")
	copyIndex(t, fleetIndex(t), path)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO finding_rows (fingerprint, rule_id, severity, title, image_digest, detail,
		first_seen, last_seen, new_in) SELECT 'test-' || digest, 'test', 'info', 'test', digest, '', 1, 1, 1
		FROM manifests WHERE is_index = 0`); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT COALESCE(f.tags, ''), COALESCE(
		(SELECT group_concat(tag, ' ') FROM (SELECT DISTINCT r.name || ':' || t.tag AS tag FROM tag_history t
			JOIN repositories r ON r.id = t.repository_id
			WHERE (t.digest = f.image_digest OR t.digest IN (SELECT rm.index_digest FROM repo_manifests rm
				JOIN manifests m ON m.id = rm.manifest_id WHERE m.digest = f.image_digest AND rm.repository_id = t.repository_id))
			  AND t.last_seen = (SELECT MAX(t2.last_seen) FROM tag_history t2 WHERE t2.repository_id = t.repository_id AND t2.tag = t.tag)
			ORDER BY 1)), ''), f.image_digest,
		EXISTS (SELECT 1 FROM repo_manifests rm JOIN manifests m ON m.id = rm.manifest_id
			WHERE m.digest = f.image_digest AND rm.index_digest IS NOT NULL)
		FROM findings f WHERE f.rule_id = 'test'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, several, viaIndex := 0, 0, 0
	for rows.Next() {
		var got, want, img string
		var indexed bool
		if err := rows.Scan(&got, &want, &img, &indexed); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("image %s: findings.tags %q, first definition %q", img, got, want)
		}
		n++
		if strings.Contains(want, " ") {
			several++
		}
		if indexed && want != "" {
			viaIndex++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 15 || several == 0 || viaIndex == 0 {
		t.Fatalf("%d images, %d with several tags, %d tagged through an index: the comparison proves little", n, several, viaIndex)
	}
}
