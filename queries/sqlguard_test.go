package queries

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/queries/querytest"
)

func TestLexSQL(t *testing.T) {
	for _, c := range []struct {
		sql   string
		stmts int
		first string
	}{
		{"SELECT 1", 1, "SELECT"},
		{"select ';' ; ", 1, "select"},
		{"SELECT 1 -- ; DROP TABLE x\n", 1, "SELECT"},
		{"SELECT 1 /* ; DROP TABLE x */", 1, "SELECT"},
		{"SELECT \"a;b\", [c;d], `e;f`", 1, "SELECT"},
		{"SELECT 1; DROP TABLE x", 2, "SELECT"},
		{"/* lead */ -- x\n INSERT INTO x VALUES (1)", 1, "INSERT"},
		{"SELECT 1;\x00; DROP TABLE x", 1, "SELECT"}, // SQLite stops at NUL
		{";;", 0, ""},
		{"SELECT 'it''s; fine'", 1, "SELECT"},
	} {
		st := lexSQL(c.sql)
		if len(st) != c.stmts {
			t.Errorf("lexSQL(%q): %d statements, want %d", c.sql, len(st), c.stmts)
			continue
		}
		if c.stmts > 0 && st[0][0].text != c.first {
			t.Errorf("lexSQL(%q): first token %q, want %q", c.sql, st[0][0].text, c.first)
		}
	}
}

// refusedSQL holds one statement of each kind auditor sql must refuse,
// including the tricks: comments, quoting, CTEs, table-valued pragmas.
var refusedSQL = []struct{ name, sql, says string }{
	{"insert", "INSERT INTO scans (started, status) VALUES ('x', 'y')", "INSERT"},
	{"update", "UPDATE scans SET status = 'x'", "UPDATE"},
	{"delete", "DELETE FROM scans", "DELETE"},
	{"replace", "REPLACE INTO scans (id, started, status) VALUES (1, 'x', 'y')", "REPLACE"},
	{"drop", "DROP VIEW files", "DROP"},
	{"create temp", "CREATE TEMP TABLE t AS SELECT 1", "CREATE"},
	{"alter", "ALTER TABLE scans ADD COLUMN x", "ALTER"},
	{"cte insert", "WITH x AS (SELECT 1) INSERT INTO scans (started, status) SELECT 'a', 'b' FROM x", "INSERT into scans"},
	{"cte delete", "WITH x(id) AS (SELECT 1) DELETE FROM scans WHERE id IN x", "DELETE from scans"},
	{"second statement", "SELECT 1; DELETE FROM scans", "2 statements"},
	{"after comment", "SELECT 1 -- harmless\n; DELETE FROM scans", "2 statements"},
	{"attach", "ATTACH DATABASE '/tmp/auditor-attack.db' AS x", "ATTACH"},
	{"attach in comment trick", "/* SELECT */ ATTACH '/tmp/auditor-attack.db' AS x", "ATTACH"},
	{"detach", "DETACH main", "DETACH"},
	{"pragma set", "PRAGMA query_only = 0", "query_only"},
	{"pragma call", "PRAGMA query_only(0)", "query_only"},
	{"pragma journal", "PRAGMA journal_mode = DELETE", "journal_mode"},
	{"pragma schema set", "PRAGMA main.user_version = 7", "user_version"},
	{"pragma writable_schema", "PRAGMA writable_schema = 1", "writable_schema"},
	{"pragma vtab", "SELECT * FROM pragma_optimize(0x10002)", "optimize"},
	{"load_extension", "SELECT load_extension('/tmp/x.so')", "load_extension"},
	{"quoted load_extension", `SELECT "load_extension"('/tmp/x.so')`, "load_extension"},
	{"vacuum into", "VACUUM INTO '/tmp/auditor-vacuum.db'", "VACUUM"},
	{"analyze", "ANALYZE", "ANALYZE"},
	{"reindex", "REINDEX", "REINDEX"},
	{"begin", "BEGIN IMMEDIATE", "BEGIN"},
	{"savepoint", "SAVEPOINT x", "SAVEPOINT"},
	{"explain pragma", "EXPLAIN PRAGMA query_only = 0", "query_only"},
}

// authorizerSQL are statements the lexical check lets through or that the
// test sends past it: the authorizer alone must refuse them.
var authorizerSQL = []struct{ name, sql, says string }{
	{"cte insert", "WITH x AS (SELECT 1) INSERT INTO scans (started, status) SELECT 'a', 'b' FROM x", "INSERT into scans"},
	{"insert", "INSERT INTO scans (started, status) VALUES ('x', 'y')", "INSERT into scans"},
	{"delete", "DELETE FROM scans", "DELETE from scans"},
	{"create temp", "CREATE TEMP TABLE t (a)", "changes the schema"},
	{"drop", "DROP VIEW files", "changes the schema"},
	{"attach", "ATTACH DATABASE '/tmp/auditor-attack.db' AS x", "ATTACH"},
	{"pragma set", "PRAGMA query_only = 0", "PRAGMA query_only = 0"},
	{"pragma journal", "PRAGMA journal_mode = DELETE", "journal_mode"},
	{"pragma vtab", "SELECT * FROM pragma_optimize(0x10002)", "PRAGMA optimize"},
	{"load_extension", "SELECT load_extension('/tmp/x.so')", "load_extension"},
	{"begin", "BEGIN", "transaction"},
	{"analyze", "ANALYZE", "ANALYZE"},
	{"savepoint", "SAVEPOINT x", "SAVEPOINT"},
}

func TestSQLReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := querytest.Copy(ctx, querytest.SmallIndex(t), path); err != nil {
		t.Fatal(err)
	}
	before := fileHash(t, path)
	db, err := index.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := db.Reader()
	o := SQLOptions{Format: Table}
	for _, c := range refusedSQL {
		var out bytes.Buffer
		_, _, err := RunSQL(ctx, r, c.sql, o, &out)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %q: got %v, want a refusal naming %q", c.name, c.sql, err, c.says)
		}
		if out.Len() != 0 {
			t.Errorf("%s: printed %q", c.name, out.String())
		}
	}
	for _, c := range authorizerSQL {
		_, _, err := runAuthorized(ctx, r, c.sql, o, &bytes.Buffer{})
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("authorizer, %s: %q: got %v, want a refusal naming %q", c.name, c.sql, err, c.says)
		}
	}
	// Reads still work on every pooled connection, still read-only.
	for _, q := range []string{
		"SELECT count(*) AS n FROM image_files",
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3) SELECT x FROM c",
		"SELECT * FROM pragma_table_info('images')",
		"PRAGMA table_info(images)",
		"EXPLAIN QUERY PLAN SELECT * FROM files WHERE path = '/etc/passwd'",
		"VALUES (1, 'a')",
		"SELECT * FROM pragma_query_only",
	} {
		var out bytes.Buffer
		if _, _, err := RunSQL(ctx, r, q, o, &out); err != nil || out.Len() == 0 {
			t.Errorf("%q: %v (output %q)", q, err, out.String())
		}
	}
	var qo int
	if err := r.QueryRowContext(ctx, "PRAGMA query_only").Scan(&qo); err != nil || qo != 1 {
		t.Errorf("query_only after the attempts = %d, %v", qo, err)
	}
	db.Close()
	if after := fileHash(t, path); after != before {
		t.Error("the database file changed")
	}
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() != 0 {
		t.Errorf("the WAL holds %d bytes: something was written", st.Size())
	}
	for _, f := range []string{"/tmp/auditor-attack.db", "/tmp/auditor-vacuum.db"} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s was created", f)
		}
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestSQLOutput(t *testing.T) {
	ctx := context.Background()
	r := small(t)
	q := "SELECT repository, tag, NULL AS none_, x'00ff' AS blob, 1.5 AS f FROM tags WHERE registry = 'a.test' ORDER BY tag, digest"
	for _, c := range []struct {
		f    Format
		want string
	}{
		{Table, "repository  tag  none_  blob     f\napp         1.0  NULL   x'00ff'  1.5\napp         2.0  NULL   x'00ff'  1.5\n"},
		{CSV, "repository,tag,none_,blob,f\napp,1.0,,00ff,1.5\napp,2.0,,00ff,1.5\n"},
		{JSONL, `{"repository":"app","tag":"1.0","none_":null,"blob":"AP8=","f":1.5}` + "\n" + `{"repository":"app","tag":"2.0","none_":null,"blob":"AP8=","f":1.5}` + "\n"},
	} {
		var out bytes.Buffer
		n, more, err := RunSQL(ctx, r, q, SQLOptions{Format: c.f, Limit: 2}, &out)
		if err != nil || n != 2 || !more {
			t.Fatalf("%s: n=%d more=%v err=%v", c.f, n, more, err)
		}
		if out.String() != c.want {
			t.Errorf("%s:\n%s\nwant:\n%s", c.f, out.String(), c.want)
		}
	}
}
