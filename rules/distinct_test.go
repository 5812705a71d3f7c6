package rules

import (
	"context"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/index"
)

// TestScopePushedIntoDistinct: for a rule that selects DISTINCT rows, the
// scope of a nightly run reaches into its query (SQLite flattens it into
// the outer query, which has the scope condition), rather than the rule
// running over the whole index with its rows filtered afterwards (a
// "CO-ROUTINE rule_rows" in the plan). TestScopingsAgree checks that the
// findings are the same.
func TestScopePushedIntoDistinct(t *testing.T) {
	for _, c := range []struct {
		query, rest string
		ok          bool
	}{
		{"SELECT DISTINCT a FROM t", "a FROM t", true},
		{"  select\n\tdistinct a FROM t", "", true},
		{"SELECT a FROM t", "", false},
		{"SELECT DISTINCT a FROM t LIMIT 3", "", false},
		{"WITH x AS (SELECT 1) SELECT DISTINCT a FROM x", "", false},
	} {
		rest, ok := cutDistinct(strings.TrimSpace(c.query))
		if ok != c.ok || (c.rest != "" && rest != c.rest) {
			t.Errorf("cutDistinct(%q) = %q, %v; want %q, %v", c.query, rest, ok, c.rest, c.ok)
		}
	}

	ctx := context.Background()
	db, err := index.Open(ctx, tempDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	for i := range defaultSet(t).Rules {
		r := &defaultSet(t).Rules[i]
		if _, ok := cutDistinct(query(r)); !ok || r.Scope != ScopeImage {
			continue
		}
		n++
		q, a := scopedQuery(r, 1, scopePushed)
		rows, err := db.Reader().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, a...)
		if err != nil {
			t.Fatalf("rule %s: %v", r.ID, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		p := strings.Join(plan, "\n")
		if strings.Contains(p, "rule_rows") {
			t.Errorf("rule %s: the scope is applied after the rule's query, not inside it:\n%s", r.ID, p)
		}
	}
	if n < 20 {
		t.Errorf("%d rules of scope image select DISTINCT, want the pack's 20 or more", n)
	}
}
