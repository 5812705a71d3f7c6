// Package pgtest gives tests the throwaway PostgreSQL server that
// scripts/with-postgres (run by scripts/with-fleet) starts: its address, and
// a fresh database per test.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env is the variable scripts/with-postgres sets to the server's DSN (its
// postgres database, as the superuser postgres).
const Env = "AUDITOR_TEST_POSTGRES"

// DSN returns the test server's DSN. Without it the test is skipped, or
// fails under CI (CI=true), where .ci/run installs PostgreSQL and the test
// wrapper starts it.
func DSN(tb testing.TB) string {
	tb.Helper()
	d := os.Getenv(Env)
	if d == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal(Env + " is not set: scripts/with-fleet must start PostgreSQL (.ci/run installs it)")
		}
		tb.Skip(Env + " not set (PostgreSQL not installed?); run the tests under scripts/with-fleet")
	}
	return d
}

// Database creates an empty database on the test server for this test
// and returns its DSN; it is dropped when the test ends.
func Database(tb testing.TB) string {
	tb.Helper()
	admin := DSN(tb)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	name := "auditor_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("connect to the test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'"); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	return WithDatabase(tb, admin, name)
}

// WithDatabase returns dsn with its database replaced by name.
func WithDatabase(tb testing.TB, dsn, name string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("parse %s: %v", Env, err)
	}
	u.Path = "/" + name
	return u.String()
}
