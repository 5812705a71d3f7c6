package queries

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"

	"github.com/auditor-dev/auditor/index"
)

// Ad hoc SQL runs read-only, by three independent locks:
//
//  1. a lexical check (checkStatement): exactly one statement, starting
//     with SELECT, WITH, VALUES or EXPLAIN, or a PRAGMA that only reads;
//     anything else (VACUUM INTO, ATTACH, a second statement hidden after
//     a comment) is refused before SQLite sees the text, since some PRAGMAs
//     take effect while they compile;
//  2. SQLite's own authorizer on the connection (policy): while the
//     statement compiles, and when a pragma_* table function compiles its
//     PRAGMA, SQLite asks about every action; only reads, SELECT, recursive
//     CTEs, read-only PRAGMAs and functions that touch nothing outside the
//     database are allowed, so a CTE that writes is refused too;
//  3. the connection itself is read-only (mode=ro, query_only), from
//     index.OpenReadOnly.

// readPragmas may run without a value: they report, change nothing.
var readPragmas = map[string]bool{
	"table_info": true, "table_xinfo": true, "table_list": true, "index_list": true,
	"index_info": true, "index_xinfo": true, "foreign_key_list": true, "database_list": true,
	"collation_list": true, "function_list": true, "module_list": true, "pragma_list": true,
	"compile_options": true, "user_version": true, "schema_version": true, "data_version": true,
	"page_count": true, "page_size": true, "freelist_count": true, "encoding": true,
	"application_id": true, "foreign_keys": true, "query_only": true,
}

// argPragmas take a table or index name as their argument.
var argPragmas = map[string]bool{
	"table_info": true, "table_xinfo": true, "table_list": true, "index_list": true,
	"index_info": true, "index_xinfo": true, "foreign_key_list": true,
}

// deniedFuncs reach outside the database (files, shared libraries,
// function pointers).
var deniedFuncs = map[string]bool{
	"load_extension": true, "readfile": true, "writefile": true, "edit": true,
	"fts3_tokenizer": true, "zipfile": true, "sqlite_dbdata": true,
}

// checkStatement is the lexical check: one statement of a reading kind.
func checkStatement(q string) error {
	stmts := lexSQL(q)
	switch {
	case len(stmts) == 0:
		return fmt.Errorf("empty query")
	case len(stmts) > 1:
		return fmt.Errorf("%w: %d statements; run one statement at a time", ErrRefused, len(stmts))
	}
	toks := stmts[0]
	for _, t := range toks {
		if t.is("attach") || t.is("detach") {
			return fmt.Errorf("%w: %s: auditor sql reads the index only", ErrRefused, strings.ToUpper(t.text))
		}
	}
	for i, t := range toks {
		if !t.punct && deniedFuncs[asciiLower(t.text)] && i+1 < len(toks) && toks[i+1].text == "(" {
			return fmt.Errorf("%w: function %s reaches outside the index", ErrRefused, t.text)
		}
	}
	// EXPLAIN [QUERY PLAN] compiles the statement it explains: check that one.
	if toks[0].is("explain") {
		toks = toks[1:]
		if len(toks) >= 2 && toks[0].is("query") && toks[1].is("plan") {
			toks = toks[2:]
		}
		if len(toks) == 0 {
			return fmt.Errorf("EXPLAIN of nothing")
		}
	}
	first := toks[0]
	switch {
	case first.is("select"), first.is("with"), first.is("values"):
		return nil // the authorizer refuses a WITH that writes
	case first.is("pragma"):
		return checkPragma(toks[1:])
	}
	return fmt.Errorf("%w: %s statements are not allowed: auditor sql runs SELECT (WITH, VALUES, EXPLAIN) and read-only PRAGMAs only",
		ErrRefused, strings.ToUpper(first.text))
}

// checkPragma allows "PRAGMA [schema.]name" and "PRAGMA [schema.]name(arg)"
// for the reporting pragmas; "= value" and other pragmas are refused.
func checkPragma(toks []token) error {
	if len(toks) >= 3 && toks[1].text == "." && toks[1].punct {
		toks = toks[2:]
	}
	if len(toks) == 0 || toks[0].punct {
		return fmt.Errorf("%w: malformed PRAGMA", ErrRefused)
	}
	name := asciiLower(toks[0].text)
	rest := toks[1:]
	switch {
	case !readPragmas[name]:
		return fmt.Errorf("%w: PRAGMA %s is not one of the read-only pragmas auditor sql allows", ErrRefused, name)
	case len(rest) == 0:
		return nil
	case rest[0].text == "=" && rest[0].punct:
		return fmt.Errorf("%w: PRAGMA %s = ...: auditor sql does not change settings", ErrRefused, name)
	case rest[0].text == "(" && argPragmas[name]:
		return nil
	}
	return fmt.Errorf("%w: PRAGMA %s with a value: auditor sql does not change settings", ErrRefused, name)
}

// policy is the authorizer installed on the connection that runs ad hoc
// SQL. It remembers the first thing it refused, for the error message.
type policy struct {
	mu     sync.Mutex
	denied string
}

var actionNames = map[sqlite.AuthorizerActionCode]string{
	sqlite.AuthInsert: "INSERT into", sqlite.AuthUpdate: "UPDATE of", sqlite.AuthDelete: "DELETE from",
	sqlite.AuthCreateTable: "CREATE TABLE", sqlite.AuthCreateTempTable: "CREATE TEMP TABLE",
	sqlite.AuthCreateIndex: "CREATE INDEX", sqlite.AuthCreateTempIndex: "CREATE TEMP INDEX",
	sqlite.AuthCreateView: "CREATE VIEW", sqlite.AuthCreateTempView: "CREATE TEMP VIEW",
	sqlite.AuthCreateTrigger: "CREATE TRIGGER", sqlite.AuthCreateTempTrigger: "CREATE TEMP TRIGGER",
	sqlite.AuthCreateVTable: "CREATE VIRTUAL TABLE", sqlite.AuthDropTable: "DROP TABLE",
	sqlite.AuthDropIndex: "DROP INDEX", sqlite.AuthDropView: "DROP VIEW", sqlite.AuthDropTrigger: "DROP TRIGGER",
	sqlite.AuthDropTempTable: "DROP TEMP TABLE", sqlite.AuthDropTempIndex: "DROP TEMP INDEX",
	sqlite.AuthDropTempView: "DROP TEMP VIEW", sqlite.AuthDropTempTrigger: "DROP TEMP TRIGGER",
	sqlite.AuthDropVTable: "DROP VIRTUAL TABLE", sqlite.AuthAttach: "ATTACH", sqlite.AuthDetach: "DETACH",
	sqlite.AuthAlterTable: "ALTER TABLE", sqlite.AuthReindex: "REINDEX", sqlite.AuthAnalyze: "ANALYZE",
	sqlite.AuthTransaction: "transaction control", sqlite.AuthSavepoint: "SAVEPOINT",
	sqlite.AuthPragma: "PRAGMA", sqlite.AuthFunction: "function",
}

func (p *policy) authorize(action sqlite.AuthorizerActionCode, arg1, arg2, _, _ string) sqlite.AuthorizerReturnCode {
	switch action {
	case sqlite.AuthSelect, sqlite.AuthRead, sqlite.AuthRecursive:
		return sqlite.AuthorizerOK
	case sqlite.AuthFunction:
		if !deniedFuncs[strings.ToLower(arg2)] {
			return sqlite.AuthorizerOK
		}
		p.deny("function " + arg2 + " reaches outside the index")
		return sqlite.AuthorizerDeny
	case sqlite.AuthPragma:
		name := strings.ToLower(arg1)
		if readPragmas[name] && (arg2 == "" || argPragmas[name]) {
			return sqlite.AuthorizerOK
		}
		what := "PRAGMA " + name
		if arg2 != "" {
			what += " = " + arg2
		}
		p.deny(what + ": auditor sql does not change settings")
		return sqlite.AuthorizerDeny
	}
	switch action {
	case sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete:
		switch strings.ToLower(arg1) {
		case "sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema":
			// SQLite asks this before the CREATE, DROP or ANALYZE itself.
			p.deny("statement changes the schema (CREATE, DROP, ALTER or ANALYZE): auditor sql is read-only")
			return sqlite.AuthorizerDeny
		}
	}
	what, ok := actionNames[action]
	if !ok {
		what = fmt.Sprintf("action %d", action)
	}
	if arg1 != "" && action != sqlite.AuthTransaction {
		what += " " + arg1
	}
	p.deny(what + ": auditor sql is read-only")
	return sqlite.AuthorizerDeny
}

func (p *policy) deny(what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.denied == "" {
		p.denied = what
	}
}

func (p *policy) refusal() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.denied
}

// SQLOptions control RunSQL.
type SQLOptions struct {
	Limit  int // stop after this many rows; 0 means all
	Format Format
	Table  TableOptions
	// Timeout stops the query after this long (0: never), with an error
	// wrapping index.ErrTimeLimit. The memory it may use is bounded by
	// index.SetMemoryLimit (index.ErrMemoryLimit).
	Timeout time.Duration
}

// RunSQL runs one read-only statement over the index and writes its rows
// to w. It returns how many rows it wrote and whether Limit cut the result
// short. Statements that could write, change settings, attach files or
// load code are refused with an error wrapping ErrRefused; the database is
// not touched.
func RunSQL(ctx context.Context, db *sql.DB, q string, o SQLOptions, w io.Writer) (n int, more bool, err error) {
	if err := checkStatement(q); err != nil {
		return 0, false, err
	}
	ctx, cancel := index.WithTimeLimit(ctx, o.Timeout)
	defer cancel()
	n, more, err = runAuthorized(ctx, db, q, o, w)
	if lerr := index.LimitError(ctx, err); lerr != err {
		err = fmt.Errorf("query %s: %w", describeQuery(q), lerr)
	}
	return n, more, err
}

// RunSQLOn runs one statement through q, a handle read-only by itself (the
// PostgreSQL back end's: a READ ONLY transaction as a role that may only
// SELECT from the views, under a statement_timeout), after the lexical
// check of RunSQL; there is no SQLite authorizer to ask.
func RunSQLOn(ctx context.Context, q Querier, query string, o SQLOptions, w io.Writer) (n int, more bool, err error) {
	if err := checkStatement(query); err != nil {
		return 0, false, err
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	return writeSQLRows(rows, o, w)
}

// describeQuery names a query in an error: its start, on one line.
func describeQuery(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if r := []rune(q); len(r) > 60 {
		q = string(r[:57]) + "..."
	}
	return strconv.Quote(q)
}

// runAuthorized runs q under the authorizer policy, without the lexical
// check (tests use it to hold the second lock to account on its own).
func runAuthorized(ctx context.Context, db *sql.DB, q string, o SQLOptions, w io.Writer) (n int, more bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, false, err
	}
	defer conn.Close()
	pol := &policy{}
	if err := conn.Raw(func(dc any) error {
		ar, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("sqlite driver %T has no authorizer", dc)
		}
		return ar.RegisterAuthorizer(pol.authorize)
	}); err != nil {
		return 0, false, err
	}
	defer conn.Raw(func(dc any) error {
		// The physical connection goes back to the pool: drop the policy,
		// or the connection if that fails.
		if err := dc.(sqlite.AuthorizerRegisterer).RegisterAuthorizer(nil); err != nil {
			return driver.ErrBadConn
		}
		return nil
	})
	fail := func(err error) (int, bool, error) {
		if why := pol.refusal(); why != "" {
			return n, false, fmt.Errorf("%w: %s", ErrRefused, why)
		}
		return n, false, err
	}
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	n, more, err = writeSQLRows(rows, o, w)
	if err != nil {
		return fail(err)
	}
	return n, more, nil
}

// writeSQLRows writes rows to w as o says: how many it wrote, and whether
// the limit cut them short.
func writeSQLRows(rows *sql.Rows, o SQLOptions, w io.Writer) (n int, more bool, err error) {
	names, err := rows.Columns()
	if err != nil {
		return 0, false, err
	}
	cols := make([]Column, len(names))
	for i, name := range names {
		cols[i] = Column{Name: name, Head: name}
	}
	rw, err := NewWriter(w, o.Format, cols, o.Table)
	if err != nil {
		return 0, false, err
	}
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if o.Limit > 0 && n == o.Limit {
			more = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, false, err
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = sqlValue(v)
		}
		if err := rw.Row(row); err != nil {
			return n, false, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, false, err
	}
	return n, more, rw.Close()
}

// sqlValue normalizes a driver value for output.
func sqlValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return append([]byte(nil), x...)
	case int:
		return int64(x)
	}
	return v
}
