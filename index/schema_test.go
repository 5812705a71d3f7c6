package index_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/auditor-dev/auditor/index"
)

// TestNewerSchemaRefused checks a database written by a newer auditor (one
// with a migration this binary does not know) is refused, for writing and
// for reading, and left untouched.
func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "i.db")
	db, err := index.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO migrations (name, applied) VALUES ('9999_future.sql', 'x')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := index.Open(context.Background(), path); !errors.Is(err, index.ErrNewerSchema) {
		t.Errorf("Open: %v, want ErrNewerSchema", err)
	}
	if _, err := index.OpenReadOnly(context.Background(), path); !errors.Is(err, index.ErrNewerSchema) {
		t.Errorf("OpenReadOnly: %v, want ErrNewerSchema", err)
	}
}

// TestOlderSchemaMigrated opens a database whose migrations are not all
// applied: Open applies them, OpenReadOnly says to run a scan.
func TestOlderSchemaMigrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "i.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := index.OpenReadOnly(context.Background(), path); err == nil {
		t.Error("OpenReadOnly of an unmigrated database: no error")
	}
	db, err := index.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM image_files`).Scan(&n); err != nil {
		t.Errorf("after migration: %v", err)
	}
}
