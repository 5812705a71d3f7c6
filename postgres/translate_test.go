package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/postgres"
	"github.com/auditor-dev/auditor/queries"
	"github.com/auditor-dev/auditor/rules"
)

// rowsOf runs q on db and returns its rows as text, each value tagged with
// its kind (booleans as the integers SQLite gives; text as its bytes).
func rowsOf(ctx context.Context, db queries.Querier, decode func(string) string, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString(" | ")
			}
			switch x := v.(type) {
			case nil:
				b.WriteString("NULL")
			case bool:
				if x {
					b.WriteString("i:1")
				} else {
					b.WriteString("i:0")
				}
			case int64:
				fmt.Fprintf(&b, "i:%d", x)
			case int32:
				fmt.Fprintf(&b, "i:%d", x)
			case float64:
				fmt.Fprintf(&b, "f:%g", x)
			case string:
				if decode != nil {
					x = decode(x)
				}
				fmt.Fprintf(&b, "t:%q", x)
			case []byte:
				fmt.Fprintf(&b, "b:%q", x)
			default:
				fmt.Fprintf(&b, "%T:%v", x, x)
			}
		}
		out = append(out, b.String())
	}
	return out, rows.Err()
}

// untyped drops the kind tags of rows' values: "i:0" and "t:\"0\"" alike become 0.
func untyped(rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		vals := strings.Split(r, " | ")
		for j, v := range vals {
			if k, rest, ok := strings.Cut(v, ":"); ok && len(k) == 1 {
				if uq, err := strconv.Unquote(rest); err == nil {
					rest = uq
				}
				vals[j] = rest
			}
		}
		out[i] = strings.Join(vals, " | ")
	}
	return out
}

// translateCases are SQLite queries over the parity corpus, each with the
// constructs Translate rewrites; ordered ones compare in order.
var translateCases = []struct {
	q    string
	args []any
	// loose: values compare as text (json_each's value and key are typed
	// in SQLite, text in PostgreSQL).
	loose bool
}{
	{q: `SELECT path, path REGEXP '(?i)^/USR/bin/[a-z]+$', path NOT REGEXP 'ls' FROM files`},
	{q: `SELECT path FROM files WHERE path REGEXP ?1 OR regexp_match(?1, linkname)`, args: []any{`\b(bin|null)\b`}},
	{q: `SELECT path FROM files WHERE path REGEXP :p`, args: []any{sql.Named("p", "^/etc/p")}},
	{q: `SELECT path FROM files f WHERE f.path GLOB '/usr/*/?s' OR path GLOB '/etc/[a-h]*' OR path GLOB '/opt/app/[^a]'`},
	{q: `SELECT path FROM path_names WHERE path GLOB ? ORDER BY path`, args: []any{"/etc/*"}},
	{q: `SELECT path, path LIKE '/USR/%', path NOT LIKE '%_W%' FROM files`},
	{q: `SELECT path FROM files WHERE path LIKE ? ESCAPE '\' OR path LIKE lower('/ETC/PASS%')`, args: []any{`/opt/app/\_%`}},
	{q: `SELECT path FROM files WHERE linkname LIKE 'USR' || '%'`},
	{q: `SELECT path, basename(path), basename(path || '//'), linkname, link_escapes(path, linkname), link_escapes('/a/b/c', '../../../x') FROM files WHERE linkname IS NOT NULL`},
	{q: `SELECT basename(''), basename('/'), basename('a'), link_escapes('x', '../y'), link_escapes('/a/b', '../c'), link_escapes('a/./b/../c', '../../d')`},
	{q: `SELECT path, printf('%04o', mode), printf('%o|%x|%X|%d|%5d|%-5d|%05d', mode, size, size, size, size, size, size), printf('%s:%s-%%-%.3s-%c', path, NULL, type, type) FROM files`},
	{q: `SELECT printf('%04o', 70000), printf('%d', NULL), printf('%s', NULL), printf('%2s|%-3s|', 'abcd', 'a'), format('%d items', 3)`},
	{q: `SELECT layer_digest, group_concat(path, ', ') FROM (SELECT layer_digest, path FROM files ORDER BY layer_digest, path) GROUP BY layer_digest ORDER BY layer_digest`},
	{q: `SELECT group_concat(DISTINCT type) FROM (SELECT type FROM files WHERE type = 'file')`},
	{q: `SELECT i.digest, e.key, e.value, e.type FROM images i, json_each(i.env) e ORDER BY i.digest, e.key`, loose: true},
	{q: `SELECT digest, (SELECT group_concat(value, ' ') FROM json_each(healthcheck, '$.Test')) FROM images WHERE healthcheck IS NOT NULL ORDER BY digest`},
	{q: `SELECT key, value, type FROM json_each('{"a":[1,2],"b":true,"c":null,"d":"x","e":1.5}') ORDER BY key`, loose: true},
	{q: `SELECT key, value FROM json_each('["' || replace('a b  c', ' ', '","') || '"]') k WHERE k.value <> ''`, loose: true},
	{q: `SELECT value FROM json_each('{"T":{"x":["p","q"]}}', '$.T.x[1]')`},
	{q: `SELECT i.digest, l.key, l.value FROM images i, json_each(i.labels) l`},
	{q: `SELECT e.key + 1, e.key - 1, e.value FROM images i, json_each(i.entrypoint) e WHERE e.key = 0 OR e.key > 0`},
	{q: `SELECT a.digest, m.value FROM images a, json_each('["x","y"]') m JOIN images b ON b.digest = a.digest AND m.value = 'y'`},
	{q: `SELECT path, mode FROM files f WHERE f.mode & 2048`},
	{q: `SELECT path FROM files f WHERE f.mode & 2048 OR (f.mode & 1 AND NOT f.size) OR f.size BETWEEN 2 AND 10 AND f.mode & 64`},
	{q: `SELECT image_digest, path FROM image_files WHERE visible AND NOT (mode & 73) AND type = 'file'`},
	{q: `SELECT path, CASE WHEN mode & 64 THEN 'x' WHEN visible THEN 'v' ELSE '-' END, CASE type WHEN 'file' THEN 1 ELSE 0 END FROM image_files`},
	{q: `SELECT path FROM files WHERE likelihood(size > 5, 0.1) AND likely(mode) AND NOT unlikely(0)`},
	{q: `SELECT layer_digest, path, count(*), SUM(type != 'dir'), group_concat(type, ',') FROM files GROUP BY path, layer_digest HAVING count(*) > 0 AND SUM(type != 'dir') >= 0 ORDER BY path, layer_digest`},
	{q: `SELECT a.path FROM files a JOIN files b ON b.path = a.path AND b.layer_digest != a.layer_digest AND a.sha256 IS b.sha256 WHERE a.linkname IS NOT b.linkname OR a.linkname IS NULL`},
	{q: `SELECT hex(path), char(65, 66), instr(path, 'bin'), ifnull(linkname, '-'), iif(size > 5, 'big', 'small'), min(size, 7), max(size, 7), lower('ÀBC'), upper(path) FROM files`},
	{q: `SELECT quote(path), quote(NULL), quote('it''s'), quote(size) FROM files WHERE path NOT LIKE '/srv/%'`},
	{q: `SELECT trim('  x  '), trim('xxyxx', 'x'), substr(path, 2, 3), substr(path, 3), length(path) FROM files WHERE path NOT LIKE '/srv/%'`},
	{q: `SELECT path FROM (SELECT * FROM (SELECT path FROM files ORDER BY path) LIMIT -1) WHERE path == '/etc/passwd'`},
	{q: `SELECT count(*) FROM files WHERE path IN (SELECT path FROM files WHERE size > 0) AND EXISTS (SELECT 1 FROM images)`},
	{q: `SELECT path FROM files WHERE ?2 = 0 OR (CASE WHEN ?1 THEN path GLOB '/usr/*' ELSE path = '/etc/passwd' END)`, args: []any{true, 1}},
	{q: `SELECT path FROM image_files WHERE hidden_how IS NOT 'marker' AND (? = 0 OR visible)`, args: []any{false}},
	// Booleans against 0, 1, other numbers and NULL (migration 0008 inlines them).
	{q: `SELECT path, visible = 1, visible = 0, visible = 2, visible <> 1, visible <> 0, visible <> 2, visible = NULL, (hidden_by_position > 0) = 1
		FROM image_files WHERE visible = 1 OR visible = 0 AND hidden_how <> 'marker'`},
	{q: `SELECT path FROM image_files WHERE visible <> 1 AND NOT visible = 1 AND (visible = 0) = 1`},
}

// TestTranslateMatchesSQLite runs each query on the SQLite index and its
// translation on PostgreSQL, over the same corpus, and wants the same rows
// (the differential test of Translate and migration 0004's functions).
func TestTranslateMatchesSQLite(t *testing.T) {
	ctx := context.Background()
	lite, pg := filledStores(t)
	for _, c := range translateCases {
		want, err := rowsOf(ctx, lite.Reader(), nil, c.q, c.args...)
		if err != nil {
			t.Errorf("SQLite: %s: %v", c.q, err)
			continue
		}
		got, err := rowsOf(ctx, pg.Querier(), postgres.Bytes, c.q, c.args...)
		if err != nil {
			pq, _, _ := postgres.Translate(c.q, c.args)
			t.Errorf("PostgreSQL: %s\ntranslated: %s\n%v", c.q, pq, err)
			continue
		}
		if len(want) == 0 {
			t.Errorf("%s: no rows (the case tests nothing)", c.q)
		}
		if c.loose {
			want, got = untyped(want), untyped(got)
		}
		if !strings.Contains(strings.ToUpper(c.q), "ORDER BY") {
			slices.Sort(want)
			slices.Sort(got)
		}
		if !slices.Equal(want, got) {
			pq, _, _ := postgres.Translate(c.q, c.args)
			t.Errorf("%s\ntranslated: %s\nSQLite:     %q\nPostgreSQL: %q", c.q, pq, want, got)
		}
	}
}

// TestTranslateRefuses: what has no translation is refused, naming it.
func TestTranslateRefuses(t *testing.T) {
	for q, name := range map[string]string{
		`SELECT path FROM files WHERE path REGEXP linkname`:  "REGEXP with a pattern that is not a string literal",
		`SELECT path FROM files WHERE path GLOB lower(path)`: "GLOB with a pattern",
		`SELECT regexp_match(path, path) FROM files`:         "regexp_match() with a pattern",
		`SELECT date('now')`:                                 "date()",
		`SELECT strftime('%s', created) FROM images`:         "strftime()",
		`SELECT name FROM sqlite_master`:                     "sqlite_master",
		`SELECT * FROM pragma_table_info('files')`:           "pragma_table_info",
		`PRAGMA user_version`:                                "PRAGMA",
		`SELECT printf(path) FROM files`:                     "printf() with a format that is not a string literal",
		`SELECT printf('%+d', 1)`:                            `printf() conversion "%+d"`,
		`SELECT 1; SELECT 2`:                                 "more than one statement",
		`SELECT value FROM json_each('{}', path) JOIN files`: "json_each() with a path",
		`SELECT path FROM files WHERE path REGEXP 'a('`:      "regexp",
		`SELECT path FROM files WHERE path MATCH 'x'`:        "MATCH",
		`SELECT typeof(size) FROM files`:                     "typeof()",
	} {
		_, _, err := postgres.Translate(q, nil)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want an error naming %s", q, err, name)
		}
		if err != nil && name != "regexp" && !errors.Is(err, postgres.ErrUntranslatable) {
			t.Errorf("%s: %v does not wrap ErrUntranslatable", q, err)
		}
	}
}

// TestDefaultPackOnPostgres: every rule of the default pack translates,
// compiles on PostgreSQL and returns the findings it returns on SQLite,
// over the parity corpus.
func TestDefaultPackOnPostgres(t *testing.T) {
	ctx := context.Background()
	lite, pg := filledStores(t)
	pack, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := range pack {
		r := &pack[i]
		if err := rules.Validate(ctx, pg.Querier(), r); err != nil {
			pq, _, _ := postgres.Translate(r.Query, []any{sql.Named("scan_id", int64(1))})
			t.Errorf("%v\ntranslated: %s", err, pq)
			continue
		}
		want, err := rules.Eval(ctx, lite.Reader(), r, 2)
		if err != nil {
			t.Errorf("SQLite: %v", err)
			continue
		}
		got, err := rules.Eval(ctx, pg.Querier(), r, 2)
		if err != nil {
			t.Errorf("PostgreSQL: %v", err)
			continue
		}
		total += len(want)
		fp := func(fs []rules.Finding) []string {
			var out []string
			for _, f := range fs {
				out = append(out, postgres.Bytes(f.Path)+" | "+postgres.Bytes(f.Detail))
			}
			slices.Sort(out)
			return out
		}
		if w, g := fp(want), fp(got); !slices.Equal(w, g) {
			t.Errorf("rule %s: SQLite %q, PostgreSQL %q", r.ID, w, g)
		}
	}
	if total == 0 {
		t.Error("the corpus gives no finding: the comparison tests nothing")
	}
}

// TestTranslateNamesColumns: a result column that is an expression is
// named as SQLite names it, after its text.
func TestTranslateNamesColumns(t *testing.T) {
	ctx := context.Background()
	lite, pg := filledStores(t)
	for _, q := range []string{
		`SELECT path, f.size, printf('%04o', mode), basename(path) AS b, lower(path) low, count(*) OVER () FROM files f`,
		`WITH x AS (SELECT path FROM files) SELECT DISTINCT path || '!', length(path) FROM x`,
		`SELECT * FROM images`,
	} {
		var names [2][]string
		for i, db := range []queries.Querier{lite.Reader(), pg.Querier()} {
			rows, err := db.QueryContext(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			names[i], err = rows.Columns()
			rows.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(names[0], names[1]) {
			t.Errorf("%s: SQLite names %q, PostgreSQL %q", q, names[0], names[1])
		}
	}
}
