package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestServer: the wrapper's server is PostgreSQL 15 or later, runs without
// fsync, and Database gives each test its own empty database.
func TestServer(t *testing.T) {
	ctx := context.Background()
	a, b := Database(t), Database(t)
	if a == b {
		t.Fatalf("two tests got one database: %s", a)
	}
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var version int
	var fsync string
	var tables int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, current_setting('fsync'),
		(SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&version, &fsync, &tables); err != nil {
		t.Fatal(err)
	}
	if version < 150000 || fsync != "off" || tables != 0 {
		t.Fatalf("server_version_num %d, fsync %s, %d tables: want >= 150000, off, 0", version, fsync, tables)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE t (x int)`); err != nil {
		t.Fatal(err)
	}
}
