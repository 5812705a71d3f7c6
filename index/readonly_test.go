package index_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/auditor-dev/auditor/index"
)

// TestReaderCannotWrite checks the read-only pool refuses every way SQL has
// to change or escape the database: writes, DDL, ATTACH (which would create
// or write another file), extensions, and pragmas that write.
func TestReaderCannotWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "i.db")
	db, err := index.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ro, err := index.OpenReadOnly(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	other := filepath.Join(dir, "other.db")
	for _, r := range []struct {
		name string
		db   *index.DB
	}{{"Reader", db}, {"OpenReadOnly", ro}} {
		for _, q := range []string{
			`INSERT INTO scans (started, status) VALUES ('x', 'ok')`,
			`DELETE FROM scans`,
			`CREATE TABLE evil (x)`,
			`DROP VIEW files`,
			`ATTACH DATABASE '` + other + `' AS o`,
			`SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')`,
			`PRAGMA journal_mode = DELETE`,
			`VACUUM INTO '` + other + `'`,
		} {
			if _, err := r.db.Reader().ExecContext(context.Background(), q); err == nil {
				t.Errorf("%s: %s succeeded", r.name, q)
			}
			if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s: %s created %s", r.name, q, other)
			}
		}
	}
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM files`).Scan(&n); err != nil {
		t.Errorf("a read failed: %v", err)
	}
}
