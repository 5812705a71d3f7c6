package rules

import (
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/indextest"
	"github.com/auditor-dev/auditor/scanners"
)

// TestContentRecheck: a layer matched with one pattern version is read
// again when the version changes, and only its content matches change (no
// entry is written twice); a file over the size limit is not matched.
func TestContentRecheck(t *testing.T) {
	reg := testRegistry(t)
	big := strings.Repeat("x", 2<<20) + " AKIAQWERTYUIOP234567"
	l := layerOf(t, ent{name: "app/token.txt", body: "token " + "ghp_" + strings.Repeat("aB3", 12) + "\n"},
		ent{name: "app/big.log", body: big},
		ent{name: "app/pool.cfg", body: "stratum+ssl://pool.example.org:443\n"})
	push(t, reg+"/test/content:v1", imageOf(t, nil, nil, baseLayer(t), l))
	db := tempDB(t)

	onlyGitHub, err := scanners.NewMatcher(scanners.DefaultPatterns()[3:4], 0)
	if err != nil {
		t.Fatal(err)
	}
	scanInto(t, db, onlyGitHub, reg)
	if got := contentRows(t, db); got != "/app/token.txt github-token" {
		t.Errorf("first scan, content_matches: %q", got)
	}
	set := defaultSet(t)
	runRules(t, db, set, RunOptions{})
	entries := countRows(t, db, "files")
	scanInto(t, db, testMatcher(t), reg)
	if got := contentRows(t, db); got != "/app/pool.cfg mining-pool-url\n/app/token.txt github-token" {
		t.Errorf("after a pattern change, content_matches: %q", got)
	}
	// The image's content changed: the rules judge it again.
	res := runRules(t, db, set, RunOptions{})
	if got := queryLines(t, db, `SELECT rule_id || ' ' || path || ' ' || state FROM findings ORDER BY 1`); got !=
		"miner-pool-url /app/pool.cfg new\nsecret-in-content /app/token.txt open" || res.Counts.New != 1 {
		t.Errorf("findings after the pattern change (%+v):\n%s", res.Counts, got)
	}
	if n := countRows(t, db, "files"); n != entries {
		t.Errorf("files: %d rows after the re-check, %d before", n, entries)
	}
	// Same version again: nothing re-read (no change either way).
	scanInto(t, db, testMatcher(t), reg)
	if got := contentRows(t, db); got != "/app/pool.cfg mining-pool-url\n/app/token.txt github-token" {
		t.Errorf("third scan, content_matches: %q", got)
	}
	// Without content checks, layers are not re-read and matches stay.
	scanInto(t, db, nil, reg)
	if n := countRows(t, db, "content_matches"); n != 2 {
		t.Errorf("scan without patterns: %d content matches, want 2", n)
	}
}

func contentRows(t testing.TB, db string) string {
	t.Helper()
	return queryLines(t, db, `SELECT path || ' ' || pattern_id FROM content_matches ORDER BY 1`)
}

func countRows(t testing.TB, db, view string) int {
	t.Helper()
	var n int
	if err := openRO(t, db).Reader().QueryRow(`SELECT count(*) FROM ` + view).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func queryLines(t testing.TB, db, q string) string {
	t.Helper()
	return strings.Join(indextest.Strings(t, openRO(t, db).Reader(), q), "\n")
}
