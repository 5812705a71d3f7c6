package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/pgtest"
	"github.com/auditor-dev/auditor/postgres"
)

// TestMigrationsPinned: a released migration never changes (a database
// that applied it would not get the change): each is pinned by sha256.
func TestMigrationsPinned(t *testing.T) {
	want, err := os.ReadFile("testdata/migrations.sha256")
	if err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		got.WriteString(hex.EncodeToString(sum[:]) + "  " + filepath.Base(n) + "\n")
	}
	if got.String() != string(want) {
		t.Fatalf("migrations changed; a released migration must not be edited (add a new one, and its line):\n%s", got.String())
	}
}

// TestConcurrentOpen: processes opening a new database at once migrate it
// once, under the advisory lock, and all open it.
func TestConcurrentOpen(t *testing.T) {
	dsn := pgtest.Database(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRefusesOtherEncodings: a database whose server_encoding is not UTF8
// is refused with an error saying so, before anything is written.
func TestRefusesOtherEncodings(t *testing.T) {
	ctx := context.Background()
	admin := pgtest.DSN(t)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := "auditor_test_latin1_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'SQL_ASCII' LOCALE 'C'"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
	_, err = postgres.Open(ctx, pgtest.WithDatabase(t, admin, name))
	if err == nil || !strings.Contains(err.Error(), "server_encoding is SQL_ASCII") {
		t.Fatalf("Open of a SQL_ASCII database: %v", err)
	}
	other, err := pgx.Connect(ctx, pgtest.WithDatabase(t, admin, name))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	var tables int
	if err := other.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("%d tables written (%v)", tables, err)
	}
}

// TestNewerSchemaRefused: a database a newer auditor migrated is refused.
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `INSERT INTO auditor_migrations (name, applied) VALUES ('9999_future.sql', 'x')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := postgres.Open(ctx, dsn); !errors.Is(err, index.ErrNewerSchema) {
		t.Fatalf("Open: %v, want ErrNewerSchema", err)
	}
}

// TestNamesByteExact: names that are not valid UTF-8, hold NUL or the
// escape range are stored one to one, found by their exact bytes, and
// auditor_bytes gives those bytes back in SQL.
func TestNamesByteExact(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	names := []string{"/plain", "/caf\u00e9", "/bad\xff", "/nul\x00x", "/pua\uf7ff", "/\xef\x9f\xbf", "/mixed\xc3\uf700\x00"}
	seen := map[string]string{}
	for _, n := range names {
		txt := postgres.Text(n)
		if postgres.Bytes(txt) != n {
			t.Errorf("%q: Text then Bytes gives %q", n, postgres.Bytes(txt))
		}
		if prev, ok := seen[txt]; ok {
			t.Errorf("%q and %q are both stored as %q", prev, n, txt)
		}
		seen[txt] = n
		var back []byte
		if err := db.Pool().QueryRow(ctx, `SELECT auditor_bytes($1)`, txt).Scan(&back); err != nil {
			t.Fatalf("%q: %v", n, err)
		}
		if string(back) != n {
			t.Errorf("auditor_bytes(%q) = %q, want %q", txt, back, n)
		}
	}
	if postgres.Text("/plain") != "/plain" || postgres.Text("/caf\u00e9") != "/caf\u00e9" {
		t.Error("valid UTF-8 names must be stored as they are")
	}
}
