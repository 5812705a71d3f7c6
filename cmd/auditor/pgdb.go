package main

import (
	"fmt"
	"strings"

	"github.com/auditor-dev/auditor/postgres"
)

// isPostgres reports whether db (--db, or db in config.toml) names a
// PostgreSQL database (a postgres:// or postgresql:// DSN) rather than a
// SQLite file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// errPostgresCommand is the refusal of a command that does not use the
// PostgreSQL back end yet. The DSN is shown with its password masked:
// credentials never reach a message.
func errPostgresCommand(command, dsn string) error {
	return fmt.Errorf("%w: db %s: auditor %s does not read PostgreSQL yet; only auditor scan writes it (docs/postgres.md)",
		errUsage, postgres.Redact(dsn), command)
}
