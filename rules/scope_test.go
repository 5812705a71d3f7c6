package rules

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/index"
)

// TestScopingsAgree: a rule of scope "image" finds the same rows whether
// its scope is pushed into its query (image by image), applied to its rows
// afterwards (once over the whole index), or, with every image in scope,
// not applied at all; on a first run and on an incremental one.
func TestScopingsAgree(t *testing.T) {
	reg, imgs, _ := classRegistry(t)
	dbPath := tempDB(t)
	m := testMatcher(t)
	set := defaultSet(t)
	ctx := context.Background()
	scanInto(t, dbPath, m, reg)

	check := func(full bool) (evaluated int) {
		t.Helper()
		db, err := index.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		evals := make([]index.RuleEval, len(set.Rules))
		for i, r := range set.Rules {
			evals[i] = index.RuleEval{RuleID: r.ID, Version: r.Version(), Scoped: r.Scope == ScopeImage}
		}
		inScope, err := db.PrepareScopes(ctx, evals, full)
		if err != nil {
			t.Fatal(err)
		}
		for i := range set.Rules {
			r := &set.Rules[i]
			if r.Scope != ScopeImage {
				continue
			}
			rows := func(s scoping) string {
				fs, err := eval(ctx, db.Reader(), r, 1, s)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, f := range fs {
					out = append(out, f.Fingerprint+" "+f.ImageDigest+" "+f.Path+" "+f.Detail)
				}
				slices.Sort(out)
				return strings.Join(out, "\n")
			}
			pushed, after := rows(scopePushed), rows(scopeAfter)
			if pushed != after {
				t.Errorf("full %v, rule %s: scope pushed down:\n%s\nscope applied after:\n%s", full, r.ID, pushed, after)
			}
			if full {
				if whole := rows(wholeIndex); whole != after {
					t.Errorf("rule %s: every image in scope:\n%s\nwhole index:\n%s", r.ID, after, whole)
				}
			}
			if inScope[r.ID] > 0 && after != "" {
				evaluated++
			}
		}
		return evaluated
	}
	if n := check(true); n < 10 {
		t.Errorf("first run: %d rules found something, want at least 10", n)
	}
	runRules(t, dbPath, set, RunOptions{})

	// One new image, holding the hidden-file and tar classes again: only
	// it is in scope now.
	again := testImage{repo: "test/again", layers: append(slices.Clone(imgs[1].layers), imgs[6].layers[1])}
	pushAll(t, reg, []testImage{again})
	scanInto(t, dbPath, m, reg)
	if n := check(false); n < 3 {
		t.Errorf("incremental run: %d rules found something in the new image, want at least 3", n)
	}
}

// TestRunJobs: any number of jobs gives the same findings, more jobs than
// the read-only pool has connections included.
func TestRunJobs(t *testing.T) {
	reg, _, want := classRegistry(t)
	m := testMatcher(t)
	set := defaultSet(t)
	for _, jobs := range []int{1, 3, 20} {
		db := tempDB(t)
		scanInto(t, db, m, reg)
		res := runRules(t, db, set, RunOptions{Jobs: jobs})
		if res.Counts.New != int64(len(want)) {
			t.Errorf("%d jobs: %d new findings, want %d", jobs, res.Counts.New, len(want))
		}
		for _, rr := range res.Rules {
			if rr.Rule == nil {
				t.Errorf("%d jobs: a rule has no result", jobs)
			}
		}
	}
}

// TestRunLeavesPoolCache: the connections a run evaluated rules on go back
// to the read-only pool with the pool's page cache size.
func TestRunLeavesPoolCache(t *testing.T) {
	reg := testRegistry(t)
	imgs, _ := classImages(t)
	pushAll(t, reg, imgs[:2])
	dbPath := tempDB(t)
	scanInto(t, dbPath, testMatcher(t), reg)
	ctx := context.Background()
	db, err := index.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cacheSizes := func() []int64 {
		t.Helper()
		var out []int64
		var conns []*sql.Conn
		for range 3 {
			c, err := db.Reader().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			var n int64
			if err := c.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		for _, c := range conns {
			c.Close()
		}
		return out
	}
	before := cacheSizes()
	if _, err := Run(ctx, db, defaultSet(t), RunOptions{Jobs: 3}); err != nil {
		t.Fatal(err)
	}
	if after := cacheSizes(); !slices.Equal(after, before) {
		t.Errorf("page cache sizes of the pool's connections: %v after a run, %v before", after, before)
	}
}

// classRegistry is a test registry holding the images of classImages.
func classRegistry(t testing.TB) (string, []testImage, []hit) {
	t.Helper()
	reg := testRegistry(t)
	imgs, want := classImages(t)
	pushAll(t, reg, imgs)
	return reg, imgs, want
}
