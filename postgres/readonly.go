package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/auditor-dev/auditor/queries"
)

// ReaderRole is the role ad hoc SQL (auditor sql) runs as: SELECT on the
// public views (and the public tables layers, scans, scan_errors) only, no
// other privilege (migration 0005 makes it when the migrating user may).
const ReaderRole = "auditor_reader"

// ReadOnly returns a handle for ad hoc SQL: one connection in a
// transaction begun READ ONLY, as ReaderRole, with statement_timeout set to
// timeout (0: the server's). done rolls the transaction back and gives the
// connection back. Without the role (a database migrated by a user who
// could not create it) it refuses: ad hoc SQL is read-only by privilege,
// not by the statement's say.
func (db *DB) ReadOnly(ctx context.Context, timeout time.Duration) (q queries.Querier, done func(), err error) {
	c, err := db.r.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	tx, err := c.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	done = func() {
		tx.Rollback()
		c.Close()
	}
	var may bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AND pg_has_role(current_user, $1, 'USAGE')`, ReaderRole).Scan(&may); err != nil {
		done()
		return nil, nil, err
	}
	if !may {
		done()
		return nil, nil, fmt.Errorf("the database has no role %s that %s may take (a superuser or a role with CREATEROLE makes it when it first opens the database; or CREATE ROLE %s NOLOGIN; GRANT %s TO the user; GRANT SELECT ON the views TO %s): auditor sql runs only as it",
			ReaderRole, "this user", ReaderRole, ReaderRole, ReaderRole)
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL ROLE `+ReaderRole); err != nil {
		done()
		return nil, nil, err
	}
	if timeout > 0 {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL statement_timeout = %d`, max(1, timeout.Milliseconds()))); err != nil {
			done()
			return nil, nil, err
		}
	}
	return TranslatingQuerier(tx), done, nil
}
