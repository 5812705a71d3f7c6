// Package queries holds auditor's read side: the canned queries behind the
// analyst commands (find, images, ls, history, diff, cat), each in its own
// .sql file over the index's public views, the resolution of IMAGE
// references, the read-only guard for ad hoc SQL, and the table, JSON, JSON
// lines and CSV output of every command.
//
// Every function reads through a Querier (the SQLite index's read-only
// pool, or the PostgreSQL back end's translating one) and writes nothing.
package queries

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// query returns the text of sql/name.sql. The files are part of the binary,
// so a missing one is a programming error.
func query(name string) string {
	b, err := sqlFiles.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("queries: no sql/%s.sql: %v", name, err))
	}
	return string(b)
}

// Errors the commands tell apart.
var (
	// ErrUnknownImage: no indexed image matches the reference.
	ErrUnknownImage = errors.New("unknown image")
	// ErrAmbiguous: a reference (digest prefix, repository without
	// registry, multi-platform tag) matches several images.
	ErrAmbiguous = errors.New("ambiguous image reference")
	// ErrNotInImage: the path is not in the image (or not in the layer asked for).
	ErrNotInImage = errors.New("path not in image")
	// ErrRefused: ad hoc SQL that could write or reach outside the index.
	ErrRefused = errors.New("refused")
)

// nullable returns nil for NULL, for raw output values.
func nullable[T any](v sql.Null[T]) any {
	if !v.Valid {
		return nil
	}
	return v.V
}

// Querier is what every read of the index goes through: a read-only handle
// on the public views of either back end, taking SQLite's dialect. The
// SQLite index's reader (index.DB.Reader(), a *sql.DB) is one, as are a
// *sql.Conn and a *sql.Tx of it; the PostgreSQL back end's
// (postgres.DB.Querier()) translates each query into PostgreSQL's dialect.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// Row is the first row of a query, from QueryRow.
type Row struct {
	rows *sql.Rows
	err  error
}

// QueryRow runs query on q; its Scan reads the first row (sql.ErrNoRows
// when there is none), as database/sql's QueryRowContext does.
func QueryRow(ctx context.Context, q Querier, query string, args ...any) *Row {
	rows, err := q.QueryContext(ctx, query, args...)
	return &Row{rows: rows, err: err}
}

// Scan copies the columns of the first row into dest and closes the rows.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}

// Columns returns the column names of a view or table, or an error when
// the index has no such relation (on either back end: no catalog is read).
func Columns(ctx context.Context, q Querier, relation string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT * FROM "`+strings.ReplaceAll(relation, `"`, `""`)+`" LIMIT 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}
