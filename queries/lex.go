package queries

import "strings"

// token is one lexical token of SQLite SQL, as far as the read-only guard
// needs: words (keywords and identifiers, quoted ones unquoted), and single
// punctuation characters. Strings, numbers and comments are skipped.
type token struct {
	text   string // unquoted; keywords as written
	quoted bool   // was a "..", `..` or [..] identifier
	punct  bool
}

// lexSQL splits sql into statements of tokens, following SQLite's
// tokenizer: '...', "..." and `...` quote with the quote doubled as the
// only escape, [...] quotes without escape, -- comments run to the end of
// the line and /* comments to */. Empty statements (lone semicolons,
// comments) are dropped. An unterminated quote or comment runs to the end,
// as SQLite reads it.
func lexSQL(sql string) [][]token {
	// SQLite sees the text as a C string: nothing past a NUL.
	if i := strings.IndexByte(sql, 0); i >= 0 {
		sql = sql[:i]
	}
	var stmts [][]token
	var cur []token
	end := func() {
		if len(cur) > 0 {
			stmts = append(stmts, cur)
		}
		cur = nil
	}
	quoted := func(i int, q byte) (string, int) {
		var b strings.Builder
		for j := i + 1; j < len(sql); j++ {
			if sql[j] == q {
				if q != ']' && j+1 < len(sql) && sql[j+1] == q {
					b.WriteByte(q)
					j++
					continue
				}
				return b.String(), j + 1
			}
			b.WriteByte(sql[j])
		}
		return b.String(), len(sql)
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(sql)
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			if j := strings.Index(sql[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(sql)
			}
		case c == ';':
			end()
			i++
		case c == '\'':
			_, i = quoted(i, '\'')
			cur = append(cur, token{text: "'", punct: true}) // a literal; its content does not matter
		case c == '"' || c == '`':
			var s string
			s, i = quoted(i, c)
			cur = append(cur, token{text: s, quoted: true})
		case c == '[':
			var s string
			s, i = quoted(i, ']')
			cur = append(cur, token{text: s, quoted: true})
		case isIdentByte(c):
			j := i
			for j < len(sql) && (isIdentByte(sql[j]) || sql[j] >= '0' && sql[j] <= '9' || sql[j] == '$') {
				j++
			}
			cur = append(cur, token{text: sql[i:j]})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(sql) && (isIdentByte(sql[j]) || sql[j] >= '0' && sql[j] <= '9' || sql[j] == '.') {
				j++
			}
			i = j
		default:
			cur = append(cur, token{text: string(c), punct: true})
			i++
		}
	}
	end()
	return stmts
}

// isIdentByte: SQLite takes every byte >= 0x80 as part of an identifier.
func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// is reports whether t is the keyword kw (ASCII case-insensitive, as
// SQLite compares keywords).
func (t token) is(kw string) bool {
	return !t.quoted && !t.punct && asciiLower(t.text) == kw
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
