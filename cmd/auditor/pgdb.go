package main

import (
	"context"
	"strings"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/postgres"
	"github.com/auditor-dev/auditor/queries"
	"github.com/auditor-dev/auditor/rules"
)

// isPostgres reports whether db (--db, or db in config.toml) names a
// PostgreSQL database (a postgres:// or postgresql:// DSN) rather than a
// SQLite file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// indexDB is an open index as the commands read it: the SQLite file or the
// PostgreSQL back end, one of them set.
type indexDB struct {
	lite *index.DB
	pg   *postgres.DB
}

// Reader reads the public views in SQLite's dialect (queries.Querier): the
// SQLite pool, or the PostgreSQL back end's translating querier.
func (d *indexDB) Reader() queries.Querier {
	if d.pg != nil {
		return d.pg.Querier()
	}
	return d.lite.Reader()
}

// rules is the store the rules run in.
func (d *indexDB) rules() rules.Store {
	if d.pg != nil {
		return d.pg
	}
	return rules.SQLite(d.lite)
}

// Capture returns a captured file's contents.
func (d *indexDB) Capture(ctx context.Context, sha string, maxSize int64) ([]byte, error) {
	if d.pg != nil {
		return d.pg.Capture(ctx, sha, maxSize)
	}
	return d.lite.Capture(ctx, sha, maxSize)
}

func (d *indexDB) Close() error {
	if d.pg != nil {
		return d.pg.Close()
	}
	return d.lite.Close()
}

// openPostgres opens the PostgreSQL index dsn names (its errors mask the
// password).
func openPostgres(ctx context.Context, dsn string) (*indexDB, error) {
	pg, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return &indexDB{pg: pg}, nil
}
