// Package index stores what a scan finds in a SQLite database: every entry of
// every layer, every image's configuration and history, which entries each
// image hides, tag history and scan records. Its public views (tags, images,
// layers, image_layers, history, files, image_files, scans, scan_errors) are
// the contract that users, rules and queries read; the tables behind them are
// private to this package.
package index

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite" // registers the pure-Go "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ReaderVersion is the version of the layer reader whose rows a layer holds.
// Raising it makes the next scan read every layer again.
const ReaderVersion = 1

// ErrNewerSchema is returned by Open for a database written by a newer
// auditor, whose schema this binary does not know.
var ErrNewerSchema = errors.New("database schema is newer than this auditor")

// ErrNotIndex is returned by Open for a file that is not an auditor database.
var ErrNotIndex = errors.New("not an auditor database")

// DB is an open index. Writes go through a single connection (SQLite allows
// one writer); reads use a pool of read-only connections, so queries run
// while a scan writes (WAL mode).
type DB struct {
	w    *sql.DB // one connection, for writes
	r    *sql.DB // read-only pool
	path string

	// Now returns the current time; tests replace it.
	Now func() time.Time
	// OverlayInMemoryMax is the most entries (over all its layers) an image
	// may have for PutImage to compute its visibility in memory; larger
	// images are computed in path order, in bounded memory. 0 means
	// DefaultOverlayInMemoryMax; a negative value sends every image through
	// the path order. Set it before writing.
	OverlayInMemoryMax int64
	// OverlayInMemoryMaxBytes bounds, the same way, the bytes of the paths
	// and link targets of those entries; 0 means
	// DefaultOverlayInMemoryMaxBytes.
	OverlayInMemoryMaxBytes int64

	mu    sync.Mutex // guards the writer and its caches
	paths *idCache   // path -> paths.id, for rows already committed
	conts *idCache   // sha256 hex -> contents.id, committed
	// entries keeps recent layers' overlay entries for PutImage.
	entries *entryCache
	// prefixes keeps the overlay trees of recent images' lower layers.
	prefixes *prefixCache

	scanners atomic.Pointer[[]ScannerVersion] // see SetScanners

	visMu sync.Mutex // guards vis
	vis   *layerRows // see CacheLayers; nil when no imagepkg.Update runs

	digests digestsStored // see HasDigests

	writeTime atomic.Int64 // nanoseconds in write transactions; see WriteTime

	full atomic.Bool // a write failed with SQLITE_FULL; see Full

	// findReady: find_images exists (migration 0026), and each write
	// transaction rebuilds what it made stale (findimages.go) with
	// findStmts, prepared once the migrations are applied; between
	// BeginScan and FinishScan (findDeferred), only FinishScan's does, once
	// for the whole scan: a repository of 10,000 tags of one image rebuilt
	// that image's row, all its tags, at each new tag (131 CPU-s for its
	// first scan). Until then find answers through find.sql.
	findReady    bool
	findStmts    []*sql.Stmt
	findDeferred atomic.Bool

	unrecordedMu sync.Mutex
	unrecorded   map[int64][]ScanError // errors AddScanError could not write, by scan
}

// dsn builds a modernc.org/sqlite DSN whose pragmas apply to every pooled
// connection.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	// Wait for the writer instead of failing with SQLITE_BUSY: scans write
	// while analysts read, and a second scan waits its turn.
	q.Add("_pragma", "busy_timeout(30000)")
	// Page cache: 16 MiB for each of the (up to 8) readers, so that
	// parallel rule runs do not multiply memory, and 8 MiB for the one
	// writer. Each cached page costs about twice its size in RSS (modernc's
	// allocator rounds a page and its header up to the next power of two).
	// A bigger writer cache saved little CPU and cost peak RSS: on the big
	// benchmark fleet's default cold scan, 16 MiB peaked 12-17 MB higher than
	// 8 MiB; building a 1.6M-row index, 4 MiB stored 4% fewer rows/s than
	// 16 MiB. The writer's cache also bounds the memory of the sort behind
	// the visibility of large images (overlaySorted): keep it small.
	if readOnly {
		q.Add("_pragma", "cache_size(-16384)")
	} else {
		q.Add("_pragma", "cache_size(-8192)")
	}
	if !readOnly {
		// Readers never block the writer, nor the writer readers. The mode
		// is stored in the file, so readers need not (and, read-only, could
		// not) set it: they read a copy in another mode as it is.
		q.Add("_pragma", "journal_mode(WAL)")
		// Durable at checkpoints; a crash loses at most the last
		// transactions, never consistency, which is all a re-runnable scan
		// needs.
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	if readOnly {
		// Belt and braces: the connection refuses writes whatever SQL says.
		q.Add("_pragma", "query_only(1)")
		// Temporary tables and sorts of queries and rules stay in memory,
		// where SetMemoryLimit bounds them (see sqllimits.go), instead of
		// growing temporary files without a bound.
		q.Add("_pragma", "temp_store(MEMORY)")
	} else {
		// Take the write lock at BEGIN, so two writers queue instead of
		// deadlocking when both try to upgrade a read lock.
		q.Set("_txlock", "immediate")
	}
	return "file:" + url.PathEscape(path) + "?" + q.Encode()
}

// Open opens (creating if needed) the index at path and brings its schema up
// to date. It refuses a database from a newer auditor with ErrNewerSchema.
// ctx governs only the opening and migration.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := refuseForeign(ctx, path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	db := &DB{w: w, path: path, Now: time.Now, paths: newIDCache(), conts: newIDCache(), entries: newEntryCache(), prefixes: newPrefixCache()}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// What SQL other than the writer's made stale in find_images is
	// rebuilt now (else find reads the views until the next write).
	err = db.prepareFindImages(ctx)
	if err == nil {
		err = db.inTx(ctx, func(*sql.Tx) error { return nil })
	}
	if err != nil {
		db.closeFindImages()
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r, err := sql.Open(readOnlyDriver, dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	db.r = r
	return db, nil
}

// refuseForeign checks, before anything is written (Open's connections set
// WAL mode, which rewrites the file's header), that path is absent, empty,
// or an auditor index: a SQLite database of another application (or any
// other file) is refused with ErrNotIndex and left byte for byte as it was.
// An index is a database whose migrations table records the first
// migration, or holds nothing else yet (a first Open cut short).
func refuseForeign(ctx context.Context, path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && st.Size() == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?mode=ro")
	if err != nil {
		return err
	}
	defer c.Close()
	var objects, others, hasMigrations int
	if err := c.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE tbl_name != 'migrations'),
		count(*) FILTER (WHERE type = 'table' AND name = 'migrations') FROM sqlite_master`).
		Scan(&objects, &others, &hasMigrations); err != nil {
		return notIndex(err)
	}
	if objects == 0 {
		return nil // an empty database
	}
	if hasMigrations == 1 {
		var first int
		err := c.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = '0001_init.sql'`).Scan(&first)
		if err == nil && (first == 1 || others == 0) {
			return nil
		}
	}
	return fmt.Errorf("%w: it holds %d tables, indexes or views of another application; auditor leaves it untouched (name another file with --db)", ErrNotIndex, objects)
}

// OpenReadOnly opens an existing index for reading only. It fails if the
// file does not exist or is not an auditor database of a known schema.
//
// A copy the user may only read (a read-only file, directory or mount) is
// opened too: SQLite's WAL mode needs the -shm file beside the database,
// which it cannot create there, so such a copy is opened immutable (no
// locks, no WAL read). A copy has no writer, so nothing changes under the
// readers; only a -wal file left beside it by a writer that was killed is
// not read, which the error for a non-empty one says.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	db, err := openReadOnly(ctx, path, "&mode=ro")
	if err != nil && cannotOpen(err) {
		if st, serr := os.Stat(path + "-wal"); serr == nil && st.Size() > 0 {
			return nil, fmt.Errorf("open %s: %w (read-only, with transactions in %s-wal that only a writable copy can read)", path, err, path)
		}
		db, err = openReadOnly(ctx, path, "&mode=ro&immutable=1")
	}
	return db, err
}

func openReadOnly(ctx context.Context, path, mode string) (*DB, error) {
	r, err := sql.Open(readOnlyDriver, dsn(path, true)+mode)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := &DB{r: r, path: path, Now: time.Now}
	if err := db.checkSchema(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// cannotOpen reports SQLite's SQLITE_CANTOPEN, what a read-only connection
// to a WAL database says when it cannot create the -shm file.
func cannotOpen(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CANTOPEN
}

// IsFull reports SQLite's SQLITE_FULL: the disk (or the database's page
// limit) is full.
func IsFull(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	db.closeFindImages()
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	return errors.Join(errs...)
}

// Path returns the file the index lives in.
func (db *DB) Path() string { return db.path }

// Reader returns the read-only connection pool, for queries over the public
// views. Statements that write fail on it.
func (db *DB) Reader() *sql.DB { return db.r }

func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// afterMigration holds the steps a migration takes in Go, in its
// transaction, after its SQL.
var afterMigration = map[string]func(context.Context, *sql.Tx) error{
	"0017_history_users.sql": fillHistoryUsers,
	"0023_package_sets.sql":  convertPackageSets,
}

// migrate applies, each in its own transaction, the embedded migrations not
// yet recorded in the migrations table.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
		return notIndex(err)
	}
	applied, err := appliedMigrations(ctx, db.w)
	if err != nil {
		return err
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	if err := checkKnown(applied, names); err != nil {
		return err
	}
	db.findReady = applied[findImagesMigration]
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		if applied[base] {
			continue
		}
		if base == findImagesMigration {
			db.findReady = true // built at the end of its transaction
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := db.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			if after := afterMigration[base]; after != nil {
				if err := after(ctx, tx); err != nil {
					return fmt.Errorf("migration %s: %w", base, err)
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied) VALUES (?, ?)`, base, db.now())
			return err
		}); err != nil {
			return err
		}
	}
	return db.recomputeStale(ctx)
}

// checkSchema verifies, without writing, that the database is an index whose
// migrations this binary knows, all applied.
func (db *DB) checkSchema(ctx context.Context) error {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'migrations'`).Scan(&n); err != nil {
		return notIndex(err)
	}
	if n == 0 {
		return ErrNotIndex
	}
	applied, err := appliedMigrations(ctx, db.r)
	if err != nil {
		return err
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	if err := checkKnown(applied, names); err != nil {
		return err
	}
	if len(applied) < len(names) {
		return fmt.Errorf("schema is older than this auditor: run `auditor scan` once to migrate it")
	}
	return nil
}

func appliedMigrations(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM migrations`)
	if err != nil {
		return nil, notIndex(err)
	}
	defer rows.Close()
	applied := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		applied[n] = true
	}
	return applied, rows.Err()
}

func checkKnown(applied map[string]bool, names []string) error {
	known := map[string]bool{}
	for _, n := range names {
		known[strings.TrimPrefix(n, "migrations/")] = true
	}
	for n := range applied {
		if !known[n] {
			return fmt.Errorf("%w (it has migration %s); upgrade auditor", ErrNewerSchema, n)
		}
	}
	return nil
}

// notIndex maps SQLite's "file is not a database" to ErrNotIndex.
func notIndex(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_NOTADB {
		return fmt.Errorf("%w: %v", ErrNotIndex, err)
	}
	return err
}

// inTx runs fn in a write transaction, committing if it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil) // waits for the one write connection
	if err != nil {
		return err
	}
	start := time.Now()
	defer func() { db.writeTime.Add(int64(time.Since(start))) }()
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return db.noteFull(err)
	}
	if db.findReady && !db.findDeferred.Load() {
		if err := db.refreshFindImages(ctx, tx); err != nil {
			return db.noteFull(err)
		}
	}
	return db.noteFull(tx.Commit())
}

// noteFull remembers that a write failed for want of space (see Full).
func (db *DB) noteFull(err error) error {
	if IsFull(err) {
		db.full.Store(true)
	}
	return err
}

// Full reports whether a write failed since Open because the disk was
// full: the scan running then did not record everything it found.
func (db *DB) Full() bool { return db.full.Load() }

// WriteTime is the time spent in write transactions since Open, not
// counting waits for the write connection: the writer's share of a scan's
// wall time says whether storing rows caps it.
func (db *DB) WriteTime() time.Duration { return time.Duration(db.writeTime.Load()) }

func (db *DB) now() string { return db.Now().UTC().Format(TimeFormat) }

// TimeFormat is how the index stores the times it records (first_seen,
// last_seen, scans): RFC 3339 in UTC with all nine fractional digits, so
// that comparing them as text compares them as times (RFC3339Nano drops
// trailing zeros, and "05.1Z" sorts after "05.12Z").
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"
