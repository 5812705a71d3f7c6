package postgres

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrUntranslatable is wrapped by the error Translate returns for SQLite
// SQL that has no PostgreSQL translation; the error names the construct.
var ErrUntranslatable = errors.New("cannot be translated to PostgreSQL")

// Translate rewrites one statement of SQLite's dialect, as rules, the
// canned queries and "auditor sql" write it, into PostgreSQL's, over the
// same public views, and binds its arguments: positional (?, ?NNN) and
// named (:name, @name, $name, given as sql.Named) parameters become $1,
// $2, ...; strings go through Text, booleans become 0 and 1 as SQLite
// binds them. It works on SQLite's tokens, grouped by parentheses, not on
// the text:
//
//   - x REGEXP 'pattern' and regexp_match('pattern', x) become x ~ 'ARE',
//     the pattern translated by TranslateRegexp when the query is (a
//     pattern must be a string literal or a bound parameter);
//   - x GLOB 'pattern' becomes a regular expression match the same way;
//   - x LIKE y [ESCAPE e] compares with ASCII letters folded, as SQLite
//     does (auditor_lower; PostgreSQL's LIKE is case-sensitive), and with no
//     escape character unless ESCAPE names one;
//   - printf/format (a literal format of %s, %d, %i, %o, %x, %X, %c, %%
//     with flags and width), group_concat, instr, ifnull, iif, likelihood,
//     likely, unlikely, char, hex, lower, upper, trim, min/max of several
//     arguments, json_each (with a '$.a.b' path) are rewritten or provided
//     by functions of migration 0004 (basename, link_escapes,
//     auditor_json_each, sum(boolean), quote, ...);
//   - a value in a condition (WHERE, ON, HAVING, WHEN, AND, OR, NOT) that is
//     not a comparison, such as f.mode & 2048, is tested with auditor_truth
//     (non-zero); a IS b becomes IS NOT DISTINCT FROM; LIMIT -1 LIMIT ALL;
//     a subquery in FROM gets the alias PostgreSQL 15 requires.
//
// What has no translation (a non-literal pattern, SQLite's date functions,
// PRAGMA, sqlite_master, ...) is refused with an error wrapping
// ErrUntranslatable that names it.
func Translate(q string, args []any) (string, []any, error) {
	toks, err := lex(q)
	if err != nil {
		return "", nil, err
	}
	t := &translator{args: args, named: map[string]int{}}
	if err := t.bindArgs(toks); err != nil {
		return "", nil, err
	}
	root := group(toks)
	root = nameColumns(q, root)
	out, err := t.seq(root, false)
	if err != nil {
		return "", nil, err
	}
	if args != nil {
		t.renumber(out)
	}
	var b strings.Builder
	emit(&b, out)
	return strings.TrimSpace(b.String()), t.out, nil
}

// nameColumns gives each result column of the statement's first SELECT
// that is an expression, not a column, and has no alias the name SQLite
// gives it, its text as written (PostgreSQL would name it after its
// outermost function, or ?column?).
func nameColumns(q string, ts []*tok) []*tok {
	i := 0
	for i < len(ts) && !ts[i].is("select") { // past WITH ... AS (...), ...
		i++
	}
	if i == len(ts) {
		return ts
	}
	i++
	if i < len(ts) && (ts[i].is("distinct") || ts[i].is("all")) {
		i++
	}
	end := i
	for end < len(ts) && !(ts[end].is("from") || ts[end].is("where") || ts[end].is("group") || ts[end].is("order") ||
		ts[end].is("limit") || ts[end].is("union") || ts[end].is("except") || ts[end].is("intersect") || ts[end].is("window")) {
		end++
	}
	var out []*tok
	item := i
	flush := func(j int) {
		it := ts[item:j]
		out = append(out, it...)
		if len(it) == 0 || it[len(it)-1].op("*") {
			return
		}
		for _, k := range it {
			if k.is("as") {
				return
			}
		}
		// a column (name, t.name) or an alias without AS keeps its name
		last := it[len(it)-1]
		if last.kind == tWord || last.kind == tQuoted {
			if len(it) == 1 || len(it) == 3 && it[1].op(".") || len(it) >= 2 && it[len(it)-2].kind != tOp {
				return
			}
		}
		out = append(out, &tok{kind: tWord, text: "AS", space: true}, &tok{kind: tQuoted, text: q[it[0].start:last.end], space: true})
	}
	for j := i; j < end; j++ {
		if ts[j].op(",") {
			flush(j)
			out = append(out, ts[j])
			item = j + 1
		}
	}
	flush(end)
	return append(append(ts[:i:i], out...), ts[end:]...)
}

// tkind is the kind of a token.
type tkind int

const (
	tWord   tkind = iota // keyword or identifier, unquoted
	tQuoted              // "identifier" (also `..` and [..])
	tString              // 'literal'
	tNumber
	tParam // ?, ?N, :name, @name, $name
	tOp    // punctuation and operators
	tGroup // ( ... ): the children in kids
	tRaw   // translated text, emitted as it is
)

type tok struct {
	kind  tkind
	text  string // word, unquoted identifier, string value, number, operator, param, raw text
	space bool   // whitespace or a comment came before it
	kids  []*tok // tGroup
	pos   int    // tParam: index of the output argument ($pos+1)

	start, end int // where it is in the query (a group: its parentheses)
}

func (t *tok) is(kw string) bool { return t != nil && t.kind == tWord && strings.EqualFold(t.text, kw) }
func (t *tok) op(s string) bool  { return t != nil && t.kind == tOp && t.text == s }

func raw(s string) *tok { return &tok{kind: tRaw, text: s, space: true} }

// lex splits SQLite SQL into tokens, as SQLite's tokenizer does. More
// than one statement is refused.
func lex(s string) ([]*tok, error) {
	var out []*tok
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		start, n := i, len(out)
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			space = true
			i++
			continue
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				j = len(s) - i
			}
			i += j
			space = true
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return nil, fmt.Errorf("unterminated comment")
			}
			i += j + 4
			space = true
			continue
		case c == ';':
			if rest, err := lex(s[i+1:]); err != nil || len(rest) > 0 {
				return nil, fmt.Errorf("%w: more than one statement", ErrUntranslatable)
			}
			i = len(s)
			continue
		case c == '\'' || c == '"' || c == '`' || c == '[':
			end := c
			if c == '[' {
				end = ']'
			}
			var b strings.Builder
			j := i + 1
			closed := false
			for ; j < len(s); j++ {
				if s[j] == end {
					if end != ']' && j+1 < len(s) && s[j+1] == end {
						b.WriteByte(end)
						j++
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
			}
			if !closed {
				return nil, fmt.Errorf("unterminated quote %c", c)
			}
			k := tQuoted
			if c == '\'' {
				k = tString
			}
			out = append(out, &tok{kind: k, text: b.String(), space: space})
			i = j
		case c == '?':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			out = append(out, &tok{kind: tParam, text: s[i:j], space: space})
			i = j
		case (c == ':' || c == '@' || c == '$') && i+1 < len(s) && (isWordByte(s[i+1]) || s[i+1] >= '0' && s[i+1] <= '9'):
			j := i + 1
			for j < len(s) && (isWordByte(s[j]) || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			out = append(out, &tok{kind: tParam, text: s[i:j], space: space})
			i = j
		case isWordByte(c):
			j := i
			for j < len(s) && (isWordByte(s[j]) || s[j] >= '0' && s[j] <= '9' || s[j] == '$') {
				j++
			}
			out = append(out, &tok{kind: tWord, text: s[i:j], space: space})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (isWordByte(s[j]) || s[j] >= '0' && s[j] <= '9' || s[j] == '.' ||
				(s[j] == '+' || s[j] == '-') && (s[j-1] == 'e' || s[j-1] == 'E') && !strings.HasPrefix(strings.ToLower(s[i:j]), "0x")) {
				j++
			}
			out = append(out, &tok{kind: tNumber, text: s[i:j], space: space})
			i = j
		default:
			w := 1
			if i+1 < len(s) {
				switch s[i : i+2] {
				case "||", "<=", ">=", "<>", "!=", "==", "<<", ">>":
					w = 2
				}
			}
			out = append(out, &tok{kind: tOp, text: s[i : i+w], space: space})
			i += w
		}
		if len(out) > n {
			out[n].start, out[n].end = start, i
		}
		space = false
	}
	return out, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// group nests the tokens between parentheses into tGroup tokens.
func group(toks []*tok) []*tok {
	var stack [][]*tok
	var cur []*tok
	var opens []*tok
	for _, t := range toks {
		switch {
		case t.op("("):
			stack = append(stack, cur)
			opens = append(opens, t)
			cur = nil
		case t.op(")") && len(stack) > 0:
			g := &tok{kind: tGroup, kids: cur, space: opens[len(opens)-1].space, start: opens[len(opens)-1].start, end: t.end}
			cur = append(stack[len(stack)-1], g)
			stack, opens = stack[:len(stack)-1], opens[:len(opens)-1]
		default:
			cur = append(cur, t)
		}
	}
	for len(stack) > 0 { // unbalanced: PostgreSQL says so
		g := &tok{kind: tGroup, kids: cur, space: opens[len(opens)-1].space}
		cur = append(stack[len(stack)-1], g)
		stack, opens = stack[:len(stack)-1], opens[:len(opens)-1]
	}
	return cur
}

// emit writes tokens as PostgreSQL SQL.
func emit(b *strings.Builder, toks []*tok) {
	for i, t := range toks {
		if t.space && i > 0 || i > 0 && needSpace(toks[i-1], t) {
			b.WriteByte(' ')
		}
		switch t.kind {
		case tQuoted:
			b.WriteString(`"` + strings.ReplaceAll(Text(t.text), `"`, `""`) + `"`)
		case tString:
			b.WriteString(literal(t.text))
		case tParam:
			b.WriteString("$" + strconv.Itoa(t.pos+1))
		case tGroup:
			b.WriteByte('(')
			emit(b, t.kids)
			b.WriteByte(')')
		default:
			b.WriteString(t.text)
		}
	}
}

// needSpace: two words (or a word and a number) written next to each other
// by a rewrite need a space between them.
func needSpace(a, b *tok) bool {
	wordy := func(t *tok) bool { return t.kind == tWord || t.kind == tNumber || t.kind == tRaw || t.kind == tParam }
	return wordy(a) && wordy(b)
}

// literal is s as a PostgreSQL string literal, in its stored form.
func literal(s string) string { return "'" + strings.ReplaceAll(Text(s), "'", "''") + "'" }

type translator struct {
	args  []any
	named map[string]int
	out   []any
	subs  int // aliases given to subqueries
}

// bindArgs numbers the parameters and builds the output arguments.
func (t *translator) bindArgs(toks []*tok) error {
	next := 0 // SQLite's ? takes the number after the largest so far
	pos := map[int]int{}
	var walk func([]*tok) error
	named := map[string]any{}
	var positional []any
	for _, a := range t.args {
		if n, ok := a.(sql.NamedArg); ok {
			named[n.Name] = n.Value
		} else {
			positional = append(positional, a)
		}
	}
	prepare := t.args == nil // Prepare: ?N is $N, bound later
	walk = func(ts []*tok) error {
		for _, k := range ts {
			if k.kind == tGroup {
				if err := walk(k.kids); err != nil {
					return err
				}
				continue
			}
			if k.kind != tParam {
				continue
			}
			if prepare {
				n := next + 1
				if k.text[0] != '?' {
					return fmt.Errorf("%w: a named parameter %s in a prepared statement", ErrUntranslatable, k.text)
				}
				if len(k.text) > 1 {
					var err error
					if n, err = strconv.Atoi(k.text[1:]); err != nil || n < 1 {
						return fmt.Errorf("bad parameter %s", k.text)
					}
				}
				next = max(next, n)
				k.pos = n - 1
				k.text = "" // no value to read
				continue
			}
			if k.text[0] != '?' {
				name := k.text[1:]
				if p, ok := t.named[name]; ok {
					k.pos = p
					continue
				}
				v, ok := named[name]
				if !ok {
					// SQLite numbers a named parameter too: ?N may give it.
					if len(positional) > next {
						v = positional[next]
					} else {
						return fmt.Errorf("missing argument %s", k.text)
					}
				}
				next++
				k.pos = len(t.out)
				t.named[name] = k.pos
				t.out = append(t.out, bindValue(v))
				continue
			}
			n := next + 1
			if len(k.text) > 1 {
				var err error
				if n, err = strconv.Atoi(k.text[1:]); err != nil || n < 1 {
					return fmt.Errorf("bad parameter %s", k.text)
				}
			}
			next = max(next, n)
			if p, ok := pos[n]; ok {
				k.pos = p
				continue
			}
			if n > len(positional) {
				return fmt.Errorf("missing argument %s", k.text)
			}
			k.pos = len(t.out)
			pos[n] = k.pos
			t.out = append(t.out, bindValue(positional[n-1]))
		}
		return nil
	}
	return walk(toks)
}

// bindValue is an argument as SQLite would bind it, in its stored form.
func bindValue(v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case string:
		return Text(x)
	}
	return v
}

// renumber keeps the arguments the translation still refers to (a
// pattern's was read into the query), numbered in order of first use.
func (t *translator) renumber(ts []*tok) {
	newPos := map[int]int{}
	var used []any
	var walk func([]*tok)
	walk = func(ts []*tok) {
		for _, k := range ts {
			switch k.kind {
			case tGroup:
				walk(k.kids)
			case tParam:
				p, ok := newPos[k.pos]
				if !ok {
					p = len(used)
					newPos[k.pos] = p
					used = append(used, t.out[k.pos])
				}
				k.pos = p
			}
		}
	}
	walk(ts)
	t.out = used
}

// value is the bound value of a parameter token (for patterns).
func (t *translator) value(k *tok) any {
	if k.pos >= len(t.out) {
		return nil // prepared: not bound yet
	}
	return t.out[k.pos]
}

// untranslatable SQLite functions and relations.
var refusedNames = map[string]string{
	"date": "date()", "time": "time()", "datetime": "datetime()", "julianday": "julianday()",
	"strftime": "strftime()", "unixepoch": "unixepoch()", "timediff": "timediff()", "typeof": "typeof()",
	"total": "total()", "zeroblob": "zeroblob()", "randomblob": "randomblob()",
	"sqlite_version": "sqlite_version()", "changes": "changes()", "last_insert_rowid": "last_insert_rowid()",
	"json_extract": "json_extract()", "json_tree": "json_tree()", "json_group_array": "json_group_array()",
	"json_group_object": "json_group_object()", "soundex": "soundex()", "load_extension": "load_extension()",
	"unicode": "unicode()",
}

// comparison operators and keywords: an expression holding one at its top
// level is a condition already.
func isComparison(k *tok) bool {
	if k.kind == tRaw {
		switch k.text {
		case "~", "!~", "LIKE", "NOT LIKE", "IS NOT DISTINCT FROM", "IS DISTINCT FROM":
			return true
		}
		return false
	}
	if k.kind == tOp {
		switch k.text {
		case "=", "==", "<", ">", "<=", ">=", "<>", "!=", "~":
			return true
		}
		return false
	}
	for _, kw := range []string{"is", "in", "like", "ilike", "glob", "regexp", "between", "exists", "isnull", "notnull", "true", "false"} {
		if k.is(kw) {
			return true
		}
	}
	return false
}

// operandStops are the keywords that end an operand of LIKE, GLOB, REGEXP
// (operators of lower or equal precedence, and clause keywords).
var operandStops = map[string]bool{
	"and": true, "or": true, "not": true, "where": true, "on": true, "select": true, "when": true, "then": true,
	"else": true, "case": true, "end": true, "is": true, "in": true, "like": true, "glob": true, "regexp": true,
	"between": true, "escape": true, "distinct": true, "as": true, "from": true, "join": true,
	"left": true, "inner": true, "cross": true, "outer": true, "having": true, "group": true, "order": true,
	"by": true, "limit": true, "offset": true, "union": true, "all": true, "except": true, "intersect": true,
	"values": true, "with": true, "exists": true, "asc": true, "desc": true, "isnull": true, "notnull": true,
	"using": true, "natural": true, "window": true, "over": true, "filter": true,
}

// operandStop: k ends an operand.
func operandStop(k *tok) bool {
	switch k.kind {
	case tWord:
		return operandStops[strings.ToLower(k.text)]
	case tOp:
		switch k.text {
		case "||", "+", "-", "*", "/", "%", "&", "|", "<<", ">>", "~", ".":
			return false
		}
		return true
	}
	return false
}

// leftOperand returns where the operand ending before index i starts.
func leftOperand(ts []*tok, i int) int {
	j := i
	for j > 0 {
		k := ts[j-1]
		if k.is("end") {
			// back to the matching CASE
			depth := 0
			m := j - 1
			for ; m >= 0; m-- {
				if ts[m].is("end") {
					depth++
				} else if ts[m].is("case") {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if m < 0 {
				return j
			}
			j = m
			continue
		}
		if k.is("collate") {
			j--
			continue
		}
		if operandStop(k) {
			break
		}
		j--
	}
	return j
}

// rightOperand returns where the operand starting at index i ends.
func rightOperand(ts []*tok, i int) int {
	j := i
	for j < len(ts) && (ts[j].op("-") || ts[j].op("+") || ts[j].op("~")) { // unary
		j++
	}
	for j < len(ts) {
		k := ts[j]
		if k.is("case") {
			depth := 0
			for ; j < len(ts); j++ {
				if ts[j].is("case") {
					depth++
				} else if ts[j].is("end") {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			j++
			continue
		}
		if k.is("collate") && j+1 < len(ts) {
			j += 2
			continue
		}
		if operandStop(k) {
			break
		}
		j++
	}
	return j
}

// args splits a group's children at its top-level commas.
func splitArgs(ts []*tok) [][]*tok {
	if len(ts) == 0 {
		return nil
	}
	var out [][]*tok
	start := 0
	for i, k := range ts {
		if k.op(",") {
			out = append(out, ts[start:i])
			start = i + 1
		}
	}
	return append(out, ts[start:])
}

// args is as, each argument one item of call.
func args(as [][]*tok) []any {
	out := make([]any, len(as))
	for i, a := range as {
		out[i] = a
	}
	return out
}

func joinArgs(as [][]*tok) []*tok {
	var out []*tok
	for i, a := range as {
		if i > 0 {
			out = append(out, &tok{kind: tOp, text: ","})
		}
		out = append(out, a...)
	}
	return out
}

// toks builds a new token sequence of items: a string is raw text, a
// *tok itself, a []*tok its tokens (copied: never appended to in place).
func toks(items ...any) []*tok {
	var out []*tok
	for _, it := range items {
		switch x := it.(type) {
		case string:
			out = append(out, raw(x))
		case *tok:
			out = append(out, x)
		case []*tok:
			out = append(out, x...)
		default:
			panic(fmt.Sprintf("toks: %T", it))
		}
	}
	return out
}

// paren is a group of items (toks).
func paren(items ...any) *tok { return &tok{kind: tGroup, kids: toks(items...), space: true} }

// call is name(arg, ...), each arg one argument of items.
func call(name string, args ...any) []*tok {
	var as [][]*tok
	for _, a := range args {
		as = append(as, toks(a))
	}
	return []*tok{raw(name), {kind: tGroup, kids: joinArgs(as)}}
}

// cast is CAST(x AS typ).
func cast(x any, typ string) []*tok { return toks("CAST", paren(x, "AS "+typ)) }

// patternOf returns the pattern string of a REGEXP/GLOB operand: a string
// literal or a bound parameter.
func (t *translator) patternOf(ts []*tok, what string) (string, error) {
	if len(ts) == 1 && ts[0].kind == tString {
		return ts[0].text, nil
	}
	if len(ts) == 1 && ts[0].kind == tParam {
		switch v := t.value(ts[0]).(type) {
		case string:
			return Bytes(v), nil
		case []byte:
			return string(v), nil
		}
	}
	if len(ts) == 1 && ts[0].kind == tGroup {
		return t.patternOf(ts[0].kids, what)
	}
	return "", fmt.Errorf("%w: %s with a pattern that is not a string literal or a bound parameter (PostgreSQL has no RE2: patterns are translated with the query)", ErrUntranslatable, what)
}

// regexpMatch is (x ~ 'ARE') for the RE2 pattern pat.
func regexpMatch(x []*tok, pat string, negate bool) (*tok, error) {
	are, err := TranslateRegexp(pat)
	if err != nil {
		return nil, err
	}
	op := "~"
	if negate {
		op = "!~"
	}
	return paren(paren(x), op, "'"+strings.ReplaceAll(are, "'", "''")+"'"), nil
}

// globRegexp is the RE2 pattern matching what SQLite's GLOB pattern g does.
func globRegexp(g string) string {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	for i := 0; i < len(g); i++ {
		switch c := g[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(g) && g[j] == '^' {
				j++
			}
			if j < len(g) && g[j] == ']' {
				j++
			}
			for j < len(g) && g[j] != ']' {
				j++
			}
			if j >= len(g) { // no closing bracket: SQLite matches nothing
				return `[^\x00-\x{10FFFF}]`
			}
			body := g[i+1 : j]
			neg := strings.HasPrefix(body, "^")
			body = strings.TrimPrefix(body, "^")
			b.WriteByte('[')
			if neg {
				b.WriteByte('^')
			}
			for k := 0; k < len(body); k++ {
				if body[k] == '-' && k > 0 && k < len(body)-1 {
					b.WriteByte('-')
					continue
				}
				b.WriteString(regexp.QuoteMeta(string(body[k])))
				if strings.ContainsRune(`]\^-`, rune(body[k])) {
					// QuoteMeta does not quote these inside a class
					s := b.String()
					b.Reset()
					b.WriteString(strings.TrimSuffix(s, string(body[k])) + `\` + string(body[k]))
				}
			}
			b.WriteByte(']')
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`\z`)
	return b.String()
}

// asciiLower folds ASCII letters as SQLite's LIKE and lower() do.
// Bytewise: a byte that is not UTF-8 stays as it is.
func asciiLower(s string) string {
	b := []byte(s)
	for i := range b {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] |= 0x20
		}
	}
	return string(b)
}

func hasASCIILetter(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
}

// seq translates a sequence of tokens (a statement, or a group's
// children). cond says the sequence is a condition (the inside of a
// parenthesized condition).
func (t *translator) seq(ts []*tok, cond bool) ([]*tok, error) {
	var err error
	// Groups first, each as a condition if it stands in one (decided below
	// by conditions(); here every group is translated as a plain sequence,
	// and conditions() re-reads them).
	for _, k := range ts {
		if k.kind == tGroup {
			if k.kids, err = t.seq(k.kids, false); err != nil {
				return nil, err
			}
		}
	}
	if ts, err = t.functions(ts); err != nil {
		return nil, err
	}
	if ts, err = t.operators(ts); err != nil {
		return nil, err
	}
	ts = t.clauses(ts)
	if cond {
		ts = t.condition(ts)
	} else {
		ts = t.conditions(ts)
	}
	return ts, nil
}

// functions rewrites SQLite's functions and refuses those without a
// translation.
func (t *translator) functions(ts []*tok) ([]*tok, error) {
	var out []*tok
	for i := 0; i < len(ts); i++ {
		k := ts[i]
		if k.kind == tWord && (strings.HasPrefix(strings.ToLower(k.text), "sqlite_") || strings.HasPrefix(strings.ToLower(k.text), "pragma_")) {
			return nil, fmt.Errorf("%w: %s (SQLite's catalog; PostgreSQL has information_schema)", ErrUntranslatable, k.text)
		}
		if k.is("pragma") && i == 0 {
			return nil, fmt.Errorf("%w: PRAGMA", ErrUntranslatable)
		}
		if k.is("explain") && i == 0 {
			return nil, fmt.Errorf("%w: EXPLAIN (SQLite's plans are not PostgreSQL's)", ErrUntranslatable)
		}
		if k.kind != tWord || i+1 >= len(ts) || ts[i+1].kind != tGroup || (i > 0 && ts[i-1].op(".")) ||
			k.is("regexp") && i > 0 && !operandStop(ts[i-1]) {
			out = append(out, k)
			continue
		}
		name := strings.ToLower(k.text)
		g := ts[i+1]
		as := splitArgs(g.kids)
		repl, err := t.function(name, k, g, as)
		if err != nil {
			return nil, err
		}
		if repl == nil {
			out = append(out, k)
			continue
		}
		if len(repl) > 0 {
			repl[0].space = k.space
		}
		out = append(out, repl...)
		i++
	}
	return out, nil
}

// function returns the translation of name(args), nil to keep it as it is.
func (t *translator) function(name string, k, g *tok, as [][]*tok) ([]*tok, error) {
	wrong := func(n string) error {
		return fmt.Errorf("%w: %s with %d arguments", ErrUntranslatable, n, len(as))
	}
	switch name {
	case "regexp_match", "regexp":
		if len(as) != 2 {
			return nil, wrong(name + "()")
		}
		pat, err := t.patternOf(as[0], name+"()")
		if err != nil {
			return nil, err
		}
		m, err := regexpMatch(as[1], pat, false)
		if err != nil {
			return nil, err
		}
		return []*tok{m}, nil
	case "likelihood":
		if len(as) != 2 {
			return nil, wrong("likelihood()")
		}
		return []*tok{paren(as[0])}, nil
	case "likely", "unlikely":
		if len(as) != 1 {
			return nil, wrong(name + "()")
		}
		return []*tok{paren(as[0])}, nil
	case "printf", "format":
		return t.printf(name, as)
	case "group_concat":
		if len(as) < 1 || len(as) > 2 {
			return nil, wrong("group_concat()")
		}
		x := as[0]
		distinct := ""
		if len(x) > 0 && x[0].is("distinct") {
			distinct, x = "DISTINCT", x[1:]
		}
		sep := toks("','")
		if len(as) == 2 {
			sep = cast(as[1], "text")
		}
		arg := cast(x, "text")
		if distinct != "" {
			arg = toks(distinct, arg)
		}
		return call("string_agg", arg, sep), nil
	case "instr":
		if len(as) != 2 {
			return nil, wrong("instr()")
		}
		return call("strpos", as[0], as[1]), nil
	case "ifnull":
		if len(as) != 2 {
			return nil, wrong("ifnull()")
		}
		return call("COALESCE", as[0], as[1]), nil
	case "iif":
		if len(as) != 3 {
			return nil, wrong("iif()")
		}
		return []*tok{paren("CASE WHEN", t.condition(toks(as[0])), "THEN", as[1], "ELSE", as[2], "END")}, nil
	case "lower", "upper":
		if len(as) != 1 {
			return nil, wrong(name + "()")
		}
		return call("auditor_"+name, as[0]), nil
	case "trim":
		return call("btrim", args(as)...), nil
	case "min", "max":
		if len(as) < 2 {
			return nil, nil // the aggregate
		}
		if name == "min" {
			return call("LEAST", args(as)...), nil
		}
		return call("GREATEST", args(as)...), nil
	case "char":
		var out []*tok
		for i, a := range as {
			if i > 0 {
				out = append(out, raw("||"))
			}
			out = append(out, call("chr", a)...)
		}
		if len(out) == 0 {
			return []*tok{raw("''")}, nil
		}
		return []*tok{paren(out)}, nil
	case "hex":
		if len(as) != 1 {
			return nil, wrong("hex()")
		}
		return call("upper", call("encode", call("auditor_bytes", cast(as[0], "text")), "'hex'")), nil
	case "substr", "substring":
		return call("substr", args(as)...), nil
	case "json_each":
		if len(as) < 1 || len(as) > 2 {
			return nil, wrong("json_each()")
		}
		// An array's key is its index, an integer (rules add to it); an
		// object's is the member's name: PostgreSQL's column has one
		// type, so the labels (the one object of the views) and literal
		// objects go to auditor_json_members, the rest to
		// auditor_json_each, which refuses an object when it meets one.
		fn := "auditor_json_each"
		if x := as[0]; len(x) > 0 && (x[len(x)-1].is("labels") || len(x) == 1 && x[0].kind == tString && strings.HasPrefix(strings.TrimSpace(x[0].text), "{")) {
			fn = "auditor_json_members"
		}
		if len(as) == 2 {
			p, err := jsonPath(as[1])
			if err != nil {
				return nil, err
			}
			return call(fn, as[0], p), nil
		}
		return call(fn, as[0]), nil
	}
	if why, ok := refusedNames[name]; ok && why != "" {
		return nil, fmt.Errorf("%w: SQLite's function %s", ErrUntranslatable, why)
	}
	return nil, nil
}

// jsonPath translates a literal SQLite JSON path ('$', '$.a.b', '$.a[0]',
// '$."a b"') into a PostgreSQL text array literal.
func jsonPath(ts []*tok) (string, error) {
	if len(ts) != 1 || ts[0].kind != tString {
		return "", fmt.Errorf("%w: json_each() with a path that is not a string literal", ErrUntranslatable)
	}
	p := ts[0].text
	if !strings.HasPrefix(p, "$") {
		return "", fmt.Errorf("%w: JSON path %q", ErrUntranslatable, p)
	}
	var els []string
	for rest := p[1:]; rest != ""; {
		switch {
		case strings.HasPrefix(rest, `."`):
			j := strings.IndexByte(rest[2:], '"')
			if j < 0 {
				return "", fmt.Errorf("%w: JSON path %q", ErrUntranslatable, p)
			}
			els, rest = append(els, rest[2:2+j]), rest[3+j:]
		case rest[0] == '.':
			j := strings.IndexAny(rest[1:], ".[")
			if j < 0 {
				j = len(rest) - 1
			}
			els, rest = append(els, rest[1:1+j]), rest[1+j:]
		case rest[0] == '[':
			j := strings.IndexByte(rest, ']')
			n, err := strconv.Atoi(rest[1:max(j, 1)])
			if j < 0 || err != nil || n < 0 {
				return "", fmt.Errorf("%w: JSON path %q", ErrUntranslatable, p)
			}
			els, rest = append(els, strconv.Itoa(n)), rest[j+1:]
		default:
			return "", fmt.Errorf("%w: JSON path %q", ErrUntranslatable, p)
		}
	}
	q := make([]string, len(els))
	for i, e := range els {
		q[i] = literal(e)
	}
	return "ARRAY[" + strings.Join(q, ", ") + "]::text[]", nil
}

// printfSpec is one conversion of a printf format.
var printfSpec = regexp.MustCompile(`^%([-0 +#!,]*)([0-9]*)(?:\.([0-9]+))?([sdioxXcq%])`)

// printf translates printf(format, ...) with a literal format into a
// concatenation.
func (t *translator) printf(name string, as [][]*tok) ([]*tok, error) {
	if len(as) == 0 || len(as[0]) != 1 || as[0][0].kind != tString {
		return nil, fmt.Errorf("%w: %s() with a format that is not a string literal", ErrUntranslatable, name)
	}
	f := as[0][0].text
	args := as[1:]
	var parts [][]*tok
	lit := ""
	flush := func() {
		if lit != "" {
			parts = append(parts, []*tok{{kind: tString, text: lit, space: true}})
			lit = ""
		}
	}
	next := 0
	arg := func() []*tok {
		if next >= len(args) {
			return []*tok{raw("NULL")}
		}
		next++
		return args[next-1]
	}
	for i := 0; i < len(f); {
		if f[i] != '%' {
			lit += string(f[i])
			i++
			continue
		}
		m := printfSpec.FindStringSubmatch(f[i:])
		if m == nil {
			return nil, fmt.Errorf("%w: %s() conversion %q", ErrUntranslatable, name, f[i:min(len(f), i+4)])
		}
		i += len(m[0])
		flags, width, prec, conv := m[1], m[2], m[3], m[4]
		if conv == "%" {
			lit += "%"
			continue
		}
		flush()
		if strings.ContainsAny(flags, "+ #!,") || conv == "q" || prec != "" && conv != "s" {
			return nil, fmt.Errorf("%w: %s() conversion %q", ErrUntranslatable, name, m[0])
		}
		a := arg()
		var v []*tok
		switch conv {
		case "s":
			v = call("COALESCE", cast(a, "text"), "''")
			if prec != "" {
				v = call("left", v, prec)
			}
		case "c":
			v = call("left", call("COALESCE", cast(a, "text"), "''"), "1")
		case "d", "i":
			v = cast(call("COALESCE", cast(a, "bigint"), "0"), "text")
		case "o":
			v = call("auditor_oct", call("COALESCE", cast(a, "bigint"), "0"))
		case "x", "X":
			v = call("to_hex", call("COALESCE", cast(a, "bigint"), "0"))
			if conv == "X" {
				v = call("upper", v)
			}
		}
		if width != "" {
			pad := "' '"
			if strings.Contains(flags, "0") && conv != "s" && conv != "c" {
				pad = "'0'"
			}
			fn := "lpad"
			if strings.Contains(flags, "-") {
				fn = "rpad"
			}
			// lpad and rpad cut a longer value; printf does not.
			v = toks(paren("CASE WHEN length", paren(v), ">= "+width+" THEN", v, "ELSE", call(fn, v, width, pad), "END"))
		}
		parts = append(parts, v)
	}
	flush()
	if len(parts) == 0 {
		return []*tok{raw("''")}, nil
	}
	var out []*tok
	for i, p := range parts {
		if i > 0 {
			out = append(out, raw("||"))
		}
		out = append(out, p...)
	}
	return []*tok{paren(out)}, nil
}

// operators rewrites REGEXP, GLOB, LIKE, IS, == at this level.
func (t *translator) operators(ts []*tok) ([]*tok, error) {
	for i := 0; i < len(ts); i++ {
		k := ts[i]
		switch {
		case k.op("=="):
			ts[i] = &tok{kind: tOp, text: "=", space: k.space}
		case k.is("match") && i > 0 && !operandStop(ts[i-1]) && i+1 < len(ts) && (ts[i+1].kind == tString || ts[i+1].kind == tParam):
			return nil, fmt.Errorf("%w: MATCH (full-text search)", ErrUntranslatable)
		case k.is("is") && i+1 < len(ts):
			j := i + 1
			not := ts[j].is("not")
			if not {
				j++
			}
			if j < len(ts) && (ts[j].is("null") || ts[j].is("true") || ts[j].is("false") || ts[j].is("distinct")) {
				continue
			}
			op := "IS NOT DISTINCT FROM"
			if not {
				op = "IS DISTINCT FROM"
			}
			ts = append(ts[:i], append([]*tok{raw(op)}, ts[j:]...)...)
		case k.is("regexp") || k.is("glob") || k.is("like"):
			start := leftOperand(ts, i)
			opStart := i
			negate := false
			if i > 0 && ts[i-1].is("not") {
				negate = true
				opStart = i - 1
				start = leftOperand(ts, i-1)
			}
			end := rightOperand(ts, i+1)
			x, y := ts[start:opStart], ts[i+1:end]
			if len(x) == 0 || len(y) == 0 {
				return nil, fmt.Errorf("%w: %s without an operand", ErrUntranslatable, strings.ToUpper(k.text))
			}
			var repl *tok
			var err error
			switch {
			case k.is("regexp"):
				pat, perr := t.patternOf(y, "REGEXP")
				if perr != nil {
					return nil, perr
				}
				repl, err = regexpMatch(x, pat, negate)
			case k.is("glob"):
				pat, perr := t.patternOf(y, "GLOB")
				if perr != nil {
					return nil, perr
				}
				repl, err = regexpMatch(x, globRegexp(pat), negate)
			default:
				var esc []*tok
				if end < len(ts) && ts[end].is("escape") {
					e2 := rightOperand(ts, end+1)
					esc = ts[end+1 : e2]
					end = e2
				}
				repl = t.like(x, y, esc, negate)
			}
			if err != nil {
				return nil, err
			}
			repl.space = ts[start].space
			rest := append([]*tok{repl}, ts[end:]...)
			ts = append(ts[:start:start], rest...)
			i = start
		case k.is("limit") && i+2 < len(ts) && ts[i+1].op("-") && ts[i+2].kind == tNumber:
			ts = append(ts[:i+1], append([]*tok{raw("ALL")}, ts[i+3:]...)...)
		}
	}
	return ts, nil
}

// like is x [NOT] LIKE y [ESCAPE e] with SQLite's ASCII case folding.
func (t *translator) like(x, y, esc []*tok, negate bool) *tok {
	op := "LIKE"
	if negate {
		op = "NOT LIKE"
	}
	escape := toks("ESCAPE", "''")
	if len(esc) > 0 {
		escape = toks("ESCAPE", esc)
	}
	if len(y) == 1 && y[0].kind == tString && !hasASCIILetter(y[0].text) {
		return paren(paren(x), op, y, escape)
	}
	var pat []*tok
	if len(y) == 1 && y[0].kind == tString {
		pat = []*tok{{kind: tString, text: asciiLower(y[0].text), space: true}}
	} else {
		pat = call("auditor_lower", y)
	}
	return paren(call("auditor_lower", x), op, pat, escape)
}

// clauses gives subqueries and table functions in FROM the alias
// PostgreSQL needs.
func (t *translator) clauses(ts []*tok) []*tok {
	inFrom := false
	for i := 0; i < len(ts); i++ {
		k := ts[i]
		switch {
		case k.is("from") || k.is("join"):
			inFrom = true
		case k.is("where") || k.is("group") || k.is("order") || k.is("limit") || k.is("having") || k.is("on") ||
			k.is("union") || k.is("except") || k.is("intersect") || k.is("select") || k.is("window"):
			inFrom = false
		}
		if !inFrom || i == 0 {
			continue
		}
		if k.op(",") {
			// SQLite's comma is a CROSS JOIN of the JOIN's precedence:
			// "a, f(a.x) m JOIN b ON ..." joins left to right, where
			// PostgreSQL's comma binds last (and f could not see a).
			ts[i] = &tok{kind: tRaw, text: "CROSS JOIN", space: true}
			continue
		}
		prev := ts[i-1]
		if !(prev.is("from") || prev.is("join") || prev.kind == tRaw && prev.text == "CROSS JOIN") {
			continue
		}
		var end int
		var name string
		switch {
		case k.kind == tGroup && len(k.kids) > 0 && (k.kids[0].is("select") || k.kids[0].is("with") || k.kids[0].is("values")):
			end, name = i+1, ""
		case k.kind == tRaw && (k.text == "auditor_json_each" || k.text == "auditor_json_members") && i+1 < len(ts) && ts[i+1].kind == tGroup:
			end, name = i+2, "json_each"
		default:
			continue
		}
		if end < len(ts) && (ts[end].is("as") || ts[end].kind == tWord && !operandStops[strings.ToLower(ts[end].text)] &&
			!ts[end].is("left") && !ts[end].is("natural") || ts[end].kind == tQuoted) {
			continue // has an alias
		}
		if name == "" {
			t.subs++
			name = "auditor_sub" + strconv.Itoa(t.subs)
		}
		ts = append(ts[:end], append([]*tok{raw("AS " + name)}, ts[end:]...)...)
	}
	return ts
}

// conditions translates each condition of a sequence: the expressions
// after WHERE, ON, HAVING and WHEN (of a searched CASE).
func (t *translator) conditions(ts []*tok) []*tok {
	var out []*tok
	for i := 0; i < len(ts); i++ {
		k := ts[i]
		out = append(out, k)
		var stops func(*tok) bool
		switch {
		case k.is("where"), k.is("having"):
			stops = func(x *tok) bool {
				return x.is("group") || x.is("order") || x.is("limit") || x.is("union") || x.is("except") ||
					x.is("intersect") || x.is("window") || x.is("having")
			}
		case k.is("on"):
			stops = func(x *tok) bool {
				return x.is("join") || x.is("left") || x.is("inner") || x.is("cross") || x.is("natural") || x.is("where") ||
					x.is("group") || x.is("order") || x.is("limit") || x.is("union") || x.is("except") || x.is("intersect") || x.op(",")
			}
		case k.is("when") && searchedCase(ts, i):
			stops = func(x *tok) bool { return x.is("then") }
		default:
			continue
		}
		j := i + 1
		depth := 0 // CASE ... END inside the condition
		for ; j < len(ts); j++ {
			if ts[j].is("case") {
				depth++
			} else if ts[j].is("end") {
				depth--
			}
			if depth == 0 && stops(ts[j]) {
				break
			}
		}
		c := t.condition(t.conditions(ts[i+1 : j]))
		out = append(out, c...)
		i = j - 1
	}
	return out
}

// searchedCase reports whether the WHEN at i belongs to a CASE without an
// operand (CASE WHEN cond ...), whose WHENs take conditions.
func searchedCase(ts []*tok, i int) bool {
	depth := 0
	for j := i - 1; j >= 0; j-- {
		switch {
		case ts[j].is("end"):
			depth++
		case ts[j].is("case"):
			if depth == 0 {
				return ts[j+1].is("when")
			}
			depth--
		}
	}
	return true // iif's condition
}

// condition makes every operand of AND, OR and NOT in ts a boolean: one
// with no comparison at its top level is tested with auditor_truth.
func (t *translator) condition(ts []*tok) []*tok {
	var out []*tok
	start := 0
	between := false
	depth := 0
	flush := func(end int) {
		atom := ts[start:end]
		for len(atom) > 0 && atom[0].is("not") {
			out = append(out, atom[0])
			atom = atom[1:]
		}
		if len(atom) == 0 {
			return
		}
		if len(atom) == 1 && atom[0].kind == tGroup && !(len(atom[0].kids) > 0 && (atom[0].kids[0].is("select") || atom[0].kids[0].is("with") || atom[0].kids[0].is("values"))) {
			g := *atom[0]
			g.kids = t.condition(g.kids)
			out = append(out, &g)
			return
		}
		for _, a := range atom {
			if isComparison(a) {
				out = append(out, atom...)
				return
			}
		}
		if len(atom) == 1 && atom[0].kind == tParam {
			out = append(out, paren(atom[0], "::bigint <> 0"))
			return
		}
		out = append(out, call("auditor_truth", toks(atom))...)
		out[len(out)-2].space = atom[0].space
	}
	for i, k := range ts {
		switch {
		case k.is("case"):
			depth++
		case k.is("end"):
			depth--
		case depth > 0:
		case k.is("between"):
			between = true
		case k.is("and") && between:
			between = false
		case k.is("and") || k.is("or"):
			flush(i)
			out = append(out, k)
			start = i + 1
		}
	}
	flush(len(ts))
	return out
}
