package postgres

import (
	"fmt"
	"regexp/syntax"
	"strings"
	"unicode"
)

// TranslateRegexp rewrites a Go (RE2) regular expression, as REGEXP and
// regexp_match take it in SQLite, into a PostgreSQL advanced regular
// expression that matches the same strings, as the index stores them
// (text.go). Only whether a string holds a match is kept (REGEXP is a
// test): groups become non-capturing, repetitions greedy. The translation
// is built from RE2's parse tree, so nothing of RE2's syntax is read by
// PostgreSQL's rules:
//   - inline flags ((?i), (?s), (?m), (?U)) apply as RE2 applies them: case
//     folding becomes bracket expressions of each letter's case variants,
//     ^ and $ of (?m) lookarounds at line breaks, . without (?s) [^\n];
//   - \b and \B (ASCII word boundaries in RE2; \b is a backspace in
//     PostgreSQL, whose \y is a Unicode word boundary) become lookarounds
//     over [0-9A-Za-z_]; \d, \s, \w are RE2's ASCII classes;
//   - every character is written as \uXXXX or \UXXXXXXXX (or itself, for
//     ASCII letters and digits), so no character is special to PostgreSQL;
//   - a class that holds NUL also holds U+F700, and one that holds U+FFFD
//     (what Go reads an invalid byte as) U+F780-U+F7FF: the stored forms
//     of those bytes.
//
// A valid character of U+F700-U+F7FF in a name (stored as the escapes of
// its three bytes) is seen by the translation as three bytes that are not
// UTF-8. A construct PostgreSQL cannot express is refused, naming it.
func TranslateRegexp(pat string) (string, error) {
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		return "", fmt.Errorf("regexp %q: %w", pat, err)
	}
	var b strings.Builder
	if err := emitRegexp(&b, re.Simplify()); err != nil {
		return "", fmt.Errorf("regexp %q: %w", pat, err)
	}
	return b.String(), nil
}

const (
	wordClass    = `[0-9A-Za-z_]`
	wordBoundary = `(?:(?<=` + wordClass + `)(?!` + wordClass + `)|(?<!` + wordClass + `)(?=` + wordClass + `))`
	notBoundary  = `(?:(?<=` + wordClass + `)(?=` + wordClass + `)|(?<!` + wordClass + `)(?!` + wordClass + `))`
)

func emitRegexp(b *strings.Builder, re *syntax.Regexp) error {
	switch re.Op {
	case syntax.OpNoMatch:
		b.WriteString(`(?!)`)
	case syntax.OpEmptyMatch:
		b.WriteString(`(?:)`)
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 && unicode.SimpleFold(r) != r {
				var rs []rune
				for f := r; ; {
					rs = append(rs, f, f)
					if f = unicode.SimpleFold(f); f == r {
						break
					}
				}
				emitClass(b, rs)
				continue
			}
			emitClass1(b, r)
		}
	case syntax.OpCharClass:
		emitClass(b, re.Rune)
	case syntax.OpAnyCharNotNL:
		b.WriteString(`[^\u000a]`)
	case syntax.OpAnyChar:
		b.WriteString(`(?:.|\u000a)`)
	case syntax.OpBeginLine:
		b.WriteString(`(?:^|(?<=\u000a))`)
	case syntax.OpEndLine:
		b.WriteString(`(?:$|(?=\u000a))`)
	case syntax.OpBeginText:
		b.WriteString(`^`)
	case syntax.OpEndText:
		b.WriteString(`$`)
	case syntax.OpWordBoundary:
		b.WriteString(wordBoundary)
	case syntax.OpNoWordBoundary:
		b.WriteString(notBoundary)
	case syntax.OpCapture:
		b.WriteString(`(?:`)
		if err := emitRegexp(b, re.Sub[0]); err != nil {
			return err
		}
		b.WriteString(`)`)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		b.WriteString(`(?:`)
		if err := emitRegexp(b, re.Sub[0]); err != nil {
			return err
		}
		b.WriteString(`)`)
		b.WriteString(map[syntax.Op]string{syntax.OpStar: "*", syntax.OpPlus: "+", syntax.OpQuest: "?"}[re.Op])
	case syntax.OpRepeat:
		if re.Min > 255 || re.Max > 255 { // Simplify expands counts; kept as a guard
			return fmt.Errorf("repetition {%d,%d}: PostgreSQL allows at most 255", re.Min, re.Max)
		}
		b.WriteString(`(?:`)
		if err := emitRegexp(b, re.Sub[0]); err != nil {
			return err
		}
		b.WriteString(`)`)
		switch {
		case re.Max == -1:
			fmt.Fprintf(b, "{%d,}", re.Min)
		case re.Max == re.Min:
			fmt.Fprintf(b, "{%d}", re.Min)
		default:
			fmt.Fprintf(b, "{%d,%d}", re.Min, re.Max)
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if err := emitRegexp(b, s); err != nil {
				return err
			}
		}
	case syntax.OpAlternate:
		b.WriteString(`(?:`)
		for i, s := range re.Sub {
			if i > 0 {
				b.WriteString(`|`)
			}
			if err := emitRegexp(b, s); err != nil {
				return err
			}
		}
		b.WriteString(`)`)
	default:
		return fmt.Errorf("construct %v cannot be translated for PostgreSQL", re.Op)
	}
	return nil
}

// emitClass1 writes one character, as a bracket expression when its stored
// forms are more than one.
func emitClass1(b *strings.Builder, r rune) {
	if r == 0 || r == unicode.ReplacementChar {
		emitClass(b, []rune{r, r})
		return
	}
	writeRune(b, r)
}

// emitClass writes a bracket expression of the ranges rs (pairs, as RE2
// keeps them), with the stored forms of NUL and invalid bytes, avoiding
// surrogate endpoints.
func emitClass(b *strings.Builder, rs []rune) {
	var out []rune
	for i := 0; i+1 < len(rs); i += 2 {
		lo, hi := rs[i], rs[i+1]
		if lo <= 0 && hi >= 0 {
			out = append(out, escapeBase, escapeBase)
			if lo == 0 {
				lo = 1
			}
			if hi < lo {
				continue
			}
		}
		if lo <= unicode.ReplacementChar && hi >= unicode.ReplacementChar {
			out = append(out, escapeBase+0x80, escapeBase+0xff)
		}
		// Surrogates are no characters, and the escape range stands for
		// bytes (above): leave them out.
		for _, gap := range [][2]rune{{0xD800, 0xDFFF}, {escapeBase, escapeBase + 0xff}} {
			if lo <= gap[1] && hi >= gap[0] {
				if lo < gap[0] {
					out = append(out, lo, gap[0]-1)
				}
				lo = gap[1] + 1
			}
		}
		if lo <= hi {
			out = append(out, lo, hi)
		}
	}
	if len(out) == 0 {
		b.WriteString(`(?!)`)
		return
	}
	b.WriteString(`[`)
	for i := 0; i+1 < len(out); i += 2 {
		writeRune(b, out[i])
		if out[i+1] != out[i] {
			b.WriteString(`-`)
			writeRune(b, out[i+1])
		}
	}
	b.WriteString(`]`)
}

func writeRune(b *strings.Builder, r rune) {
	switch {
	case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
		b.WriteRune(r)
	case r <= 0xFFFF:
		fmt.Fprintf(b, `\u%04x`, r)
	default:
		fmt.Fprintf(b, `\U%08x`, r)
	}
}
