package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/auditor-dev/auditor/queries"
)

// Querier returns the back end's read handle for queries, rules and
// reports (queries.Querier): it takes SQLite's dialect, as they write it,
// and runs each query's translation (Translate) on the pool.
func (db *DB) Querier() queries.Querier { return &querier{db: db.r} }

// sqlHandle is what querier runs translations on: the pool, a connection
// or a transaction.
type sqlHandle interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

type querier struct{ db sqlHandle }

// TranslatingQuerier wraps a database/sql handle on a PostgreSQL index
// (its pool, a connection, a transaction) as a queries.Querier.
func TranslatingQuerier(h sqlHandle) queries.Querier { return &querier{db: h} }

func (q *querier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	pq, pargs, err := Translate(query, args)
	if err != nil {
		return nil, fmt.Errorf("on PostgreSQL: %w", err)
	}
	return q.db.QueryContext(ctx, pq, pargs...)
}

// PrepareContext prepares the translation of query, whose parameters are
// numbered as they are (?N is $N); a pattern may not be one of them.
func (q *querier) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	pq, _, err := Translate(query, nil)
	if err != nil {
		return nil, fmt.Errorf("on PostgreSQL: %w", err)
	}
	return q.db.PrepareContext(ctx, pq)
}
