// Package postgres stores the index in PostgreSQL: the same public views as
// the SQLite index (package index), with the same columns and meanings, over
// private tables of its own (migrations/), so that many hosts write one scan
// and many people query it. A DSN postgres://... (or postgresql://...)
// selects it. Layers are written with COPY, each in one transaction that
// makes it visible whole; names that are not valid UTF-8 are stored as
// text.go says.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/overlay"
)

//go:embed migrations/*.sql
var migrations embed.FS

// IsDSN reports whether s names a PostgreSQL database (postgres:// or
// postgresql://) rather than a SQLite file.
func IsDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// migrationLock is the key of the advisory lock under which migrations run:
// two processes opening a new database at once apply each migration once.
const migrationLock = 0x61756469746f72 // "auditor"

// DB is an open PostgreSQL index.
type DB struct {
	pool *pgxpool.Pool
	r    *sql.DB // database/sql over the same pool, for readers
	dsn  string

	// Now returns the current time; tests replace it.
	Now func() time.Time

	scanners atomic.Pointer[[]auditor.ScannerVersion]

	writeTime atomic.Int64

	mu      sync.Mutex
	entries map[int64][]overlay.Entry // overlay entries of recent layers, by layers.id

	// The ids of paths and contents, per database: a process that opens
	// two databases (or one dropped and made again) must not take one's
	// ids for the other's (they were package-wide: a second database's
	// layer then referred to contents it does not have).
	paths, contents *interner

	// layerSlots bounds the layer transactions open at once to half the
	// pool: each holds a connection from its first chunk to its commit,
	// and needs another meanwhile (interning), as do the crawl's other
	// writes. With every connection held by a layer, they all waited for
	// one another (a real crawl of the fleet hung in PutTag).
	layerSlots chan struct{}
}

// defaultMaxConns is the pool size when the DSN sets no pool_max_conns
// (pgxpool's default, 4 on a 2-core machine, gave a crawl 2 layers at
// once).
const defaultMaxConns = 16

// Open connects to the database dsn names and brings its schema up to
// date, under an advisory lock. It refuses a server whose encoding is not
// UTF8 (text.go: names are stored as UTF-8 text) and a schema from a newer
// auditor (index.ErrNewerSchema). ctx governs only the opening.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", Redact(dsn), err)
	}
	if _, set := cfg.ConnConfig.RuntimeParams["pool_max_conns"]; !set && !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	// JIT off, unless the DSN says otherwise (jit=on): the rules' queries
	// over the views have hundreds of expressions, and compiling them cost
	// more than running them (persistence-point on the test fleet: 12.4 s
	// of JIT for a 0.9 s run), while no query of auditor runs long enough
	// on rows enough to gain from it.
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", Redact(dsn), err)
	}
	db := &DB{pool: pool, dsn: dsn, Now: time.Now, entries: map[int64][]overlay.Entry{},
		paths: newInterner("paths", "path"), contents: newInterner("contents", "sha256"),
		layerSlots: make(chan struct{}, max(1, cfg.MaxConns/2))}
	if err := db.checkEncoding(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open %s: %w", Redact(dsn), err)
	}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open %s: %w", Redact(dsn), err)
	}
	db.r = stdlib.OpenDBFromPool(pool)
	return db, nil
}

// Close closes the connections.
func (db *DB) Close() error {
	if db.r != nil {
		db.r.Close()
	}
	db.pool.Close()
	return nil
}

// Reader returns a database/sql handle on the database (pgx/v5/stdlib).
func (db *DB) Reader() *sql.DB { return db.r }

// Pool returns the pgx pool.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// WriteTime is the time spent in write transactions since Open.
func (db *DB) WriteTime() time.Duration { return time.Duration(db.writeTime.Load()) }

// checkEncoding refuses a database whose server_encoding is not UTF8: in
// another encoding the text of names would not round-trip (text.go), and
// SQL_ASCII would store them without checking.
func (db *DB) checkEncoding(ctx context.Context) error {
	var enc string
	if err := db.pool.QueryRow(ctx, `SHOW server_encoding`).Scan(&enc); err != nil {
		return err
	}
	if enc != "UTF8" {
		return fmt.Errorf("the database's server_encoding is %s: auditor needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)", enc)
	}
	return nil
}

func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// migrate applies, in one transaction each and under the advisory lock,
// the embedded migrations not yet recorded in auditor_migrations.
func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS auditor_migrations (name text PRIMARY KEY, applied text NOT NULL)`); err != nil {
		return err
	}
	applied := map[string]bool{}
	rows, err := conn.Query(ctx, `SELECT name FROM auditor_migrations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		applied[n] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, n := range names {
		known[strings.TrimPrefix(n, "migrations/")] = true
	}
	for n := range applied {
		if !known[n] {
			return fmt.Errorf("%w (it has migration %s); upgrade auditor", index.ErrNewerSchema, n)
		}
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		if applied[base] {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			_, err := tx.Exec(ctx, `INSERT INTO auditor_migrations (name, applied) VALUES ($1, $2)`, base, db.now())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a transaction, committing if it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	start := time.Now()
	defer func() { db.writeTime.Add(int64(time.Since(start))) }()
	return pgx.BeginFunc(ctx, db.pool, fn)
}

func (db *DB) now() string { return db.Now().UTC().Format(index.TimeFormat) }

// nullStr is s as text (text.go), or NULL when it is empty.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return Text(s)
}

// noRows reports whether err is pgx's "no rows".
func noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
