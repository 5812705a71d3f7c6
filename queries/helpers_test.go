package queries

import (
	"context"
	"database/sql"
	"testing"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/queries/querytest"
)

// open opens the index at path read-only, as the commands do.
func open(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := index.OpenReadOnly(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.Reader()
}

func fleet(t *testing.T) *sql.DB { return open(t, querytest.FleetIndex(t)) }

func small(t *testing.T) *sql.DB { return open(t, querytest.SmallIndex(t)) }

func resolve(t *testing.T, db *sql.DB, ref, platform string) *Image {
	t.Helper()
	im, err := Resolve(context.Background(), db, ref, platform)
	if err != nil {
		t.Fatalf("Resolve(%q, %q): %v", ref, platform, err)
	}
	return im
}
