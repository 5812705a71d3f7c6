package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrationsPinned fails when a migration listed in
// testdata/migrations.sha256 changes: indexes that applied it would never
// see the change. A new migration is added to the list (with its sha256).
func TestMigrationsPinned(t *testing.T) {
	pinned, err := os.ReadFile(filepath.Join("testdata", "migrations.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(pinned)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("testdata/migrations.sha256: bad line %q", line)
		}
		want[name] = sum
	}
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimPrefix(name, "migrations/")
		sum := sha256.Sum256(body)
		switch pin, ok := want[base]; {
		case !ok:
			t.Errorf("migration %s is not pinned: add %q to testdata/migrations.sha256", base, hex.EncodeToString(sum[:])+"  "+base)
		case pin != hex.EncodeToString(sum[:]):
			t.Errorf("migration %s changed after it was pinned: add a new migration instead", base)
		}
		delete(want, base)
	}
	for name := range want {
		t.Errorf("pinned migration %s is gone", name)
	}
}

// TestMigrateFromRuleScopesMissing opens an index that applied 0002_findings
// before rule_image_evals and rule_scope were added to it: the next
// migration creates them.
func TestMigrateFromRuleScopesMissing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE rule_image_evals`, `DROP TABLE rule_scope`, `DELETE FROM migrations WHERE name = '0005_rule_scopes.sql'`} {
		if _, err := db.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if db, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.PrepareScopes(ctx, []RuleEval{{RuleID: "r", Version: "1", Scoped: true}}, false); err != nil {
		t.Fatalf("after migrating: %v", err)
	}
}
