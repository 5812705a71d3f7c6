package index

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// compileMatch compiles pat into a function reporting whether a string
// holds a match, exactly as regexp.MatchString does, only faster for the
// shapes rules use on every path of a fleet:
//
//   - a single class of ASCII characters (e.g. "[\x00-\x1f\x7f]") is a
//     byte scan;
//   - a pattern every match of which contains one of a few literals (e.g.
//     "(?i)(^|/)(\.netrc|id_(rsa|dsa)|...)$") first looks for them with
//     strings.Contains, and runs the regexp only on strings holding one.
func compileMatch(pat string) (func(string) bool, error) {
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, err
	}
	t, err := syntax.Parse(pat, syntax.Perl) // regexp.Compile's flags
	if err != nil {
		return re.MatchString, nil
	}
	t = t.Simplify()
	if m := asciiClassMatch(t); m != nil {
		return m, nil
	}
	if lits := minimal(requiredLiterals(t)); len(lits) > 0 {
		return prefiltered(lits, re.MatchString), nil
	}
	return re.MatchString, nil
}

// asciiClassMatch returns a matcher for a pattern that is one character
// class of ASCII characters only, or nil. It matches exactly where the
// regexp does: a byte below 0x80 is always a whole rune, and a byte from
// 0x80 up is part of a rune, or an invalid byte, outside any ASCII class.
func asciiClassMatch(t *syntax.Regexp) func(string) bool {
	if t.Op != syntax.OpCharClass {
		return nil
	}
	var in [utf8.RuneSelf]bool
	for i := 0; i+1 < len(t.Rune); i += 2 {
		lo, hi := t.Rune[i], t.Rune[i+1]
		if hi >= utf8.RuneSelf {
			return nil
		}
		for r := lo; r <= hi; r++ {
			in[r] = true
		}
	}
	return func(s string) bool {
		for i := 0; i < len(s); i++ {
			if b := s[i]; b < utf8.RuneSelf && in[b] {
				return true
			}
		}
		return false
	}
}

// literal is a string a match must contain; fold means compared ASCII
// case-insensitively (s is then lower case).
type literal struct {
	s    string
	fold bool
}

// requiredLiterals returns literals of ASCII characters one of which every
// match of t contains, or nil when it cannot tell.
func requiredLiterals(t *syntax.Regexp) []literal {
	switch t.Op {
	case syntax.OpLiteral:
		s := string(t.Rune)
		if s == "" || !isASCII(s) {
			return nil
		}
		if t.Flags&syntax.FoldCase != 0 {
			return []literal{{strings.ToLower(s), true}}
		}
		return []literal{{s, false}}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(t.Sub[0])
	case syntax.OpRepeat:
		if t.Min >= 1 {
			return requiredLiterals(t.Sub[0])
		}
	case syntax.OpConcat:
		// Every part is in the match: take the most selective part's, a
		// run of consecutive parts that match a few strings each counting
		// as one part matching their concatenations (".", "p12|key" is
		// ".p12|.key").
		var best []literal
		consider := func(l []literal) {
			if l != nil && (best == nil || shortest(l) > shortest(best)) {
				best = l
			}
		}
		run := exact{strs: []string{""}}
		for _, sub := range t.Sub {
			if e, ok := exactStrings(sub); ok {
				if r, ok := run.concat(e); ok {
					run = r
					continue
				}
				consider(run.literals())
				run = e
				continue
			}
			consider(run.literals())
			run = exact{strs: []string{""}}
			consider(requiredLiterals(sub))
		}
		consider(run.literals())
		return best
	case syntax.OpAlternate:
		// One of the branches is in the match: any of their literals.
		var all []literal
		for _, sub := range t.Sub {
			l := requiredLiterals(sub)
			if l == nil {
				return nil
			}
			all = append(all, l...)
		}
		return all
	}
	return nil
}

// exact is the set of strings a part of a pattern matches, all of them,
// when there are few: ASCII, lower case when folded.
type exact struct {
	strs []string
	fold int // 0: holds only "", 1: matched exactly, 2: case-folded
}

// maxExact bounds the strings an exact set holds.
const maxExact = 32

// exactStrings returns the strings t matches, if few and ASCII.
func exactStrings(t *syntax.Regexp) (exact, bool) {
	switch t.Op {
	case syntax.OpEmptyMatch:
		return exact{strs: []string{""}}, true
	case syntax.OpLiteral:
		s := string(t.Rune)
		if !isASCII(s) {
			return exact{}, false
		}
		if t.Flags&syntax.FoldCase != 0 {
			return exact{strs: []string{strings.ToLower(s)}, fold: 2}, true
		}
		return exact{strs: []string{s}, fold: 1}, true
	case syntax.OpCapture:
		return exactStrings(t.Sub[0])
	case syntax.OpQuest:
		e, ok := exactStrings(t.Sub[0])
		if !ok {
			return exact{}, false
		}
		return e.union(exact{strs: []string{""}})
	case syntax.OpAlternate:
		out := exact{}
		for _, sub := range t.Sub {
			e, ok := exactStrings(sub)
			if !ok {
				return exact{}, false
			}
			if out, ok = out.union(e); !ok {
				return exact{}, false
			}
		}
		return out, true
	case syntax.OpConcat:
		out := exact{strs: []string{""}}
		for _, sub := range t.Sub {
			e, ok := exactStrings(sub)
			if !ok {
				return exact{}, false
			}
			if out, ok = out.concat(e); !ok {
				return exact{}, false
			}
		}
		return out, true
	}
	return exact{}, false
}

// foldWith is the fold of two sets put together, if they agree.
func foldWith(a, b int) (int, bool) {
	switch {
	case a == 0:
		return b, true
	case b == 0 || a == b:
		return a, true
	}
	return 0, false
}

func (e exact) union(o exact) (exact, bool) {
	fold, ok := foldWith(e.fold, o.fold)
	if !ok || len(e.strs)+len(o.strs) > maxExact {
		return exact{}, false
	}
	return exact{strs: append(append([]string(nil), e.strs...), o.strs...), fold: fold}, true
}

func (e exact) concat(o exact) (exact, bool) {
	fold, ok := foldWith(e.fold, o.fold)
	if !ok || len(e.strs)*len(o.strs) > maxExact {
		return exact{}, false
	}
	out := exact{fold: fold}
	for _, a := range e.strs {
		for _, b := range o.strs {
			out.strs = append(out.strs, a+b)
		}
	}
	return out, true
}

// literals is the set as required literals, or nil if it holds "" (a
// string every string contains).
func (e exact) literals() []literal {
	var out []literal
	for _, s := range e.strs {
		if s == "" {
			return nil
		}
		out = append(out, literal{s, e.fold == 2})
	}
	return out
}

// minimal drops from lits those containing another (a string holding
// "sbin" holds "bin"), and repeats.
func minimal(lits []literal) []literal {
	var out []literal
	for i, l := range lits {
		redundant := false
		for j, o := range lits {
			if i != j && o.fold == l.fold && strings.Contains(l.s, o.s) && (len(o.s) < len(l.s) || j < i) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, l)
		}
	}
	return out
}

func shortest(ls []literal) int {
	n := -1
	for _, l := range ls {
		if n < 0 || len(l.s) < n {
			n = len(l.s)
		}
	}
	return n
}

// prefiltered runs match only on strings holding one of lits. A string with
// a byte from 0x80 up always goes to match: under case folding a non-ASCII
// rune can match an ASCII letter (the Kelvin sign matches k).
func prefiltered(lits []literal, match func(string) bool) func(string) bool {
	// The literals by their first byte (both cases of a folded letter), so
	// that one pass over the string tries only those that can start at
	// each byte.
	var byFirst [utf8.RuneSelf][]literal
	for _, l := range lits {
		c := l.s[0]
		byFirst[c] = append(byFirst[c], l)
		if l.fold && 'a' <= c && c <= 'z' {
			byFirst[c-'a'+'A'] = append(byFirst[c-'a'+'A'], l)
		}
	}
	return func(s string) bool {
		if !isASCII(s) {
			return match(s)
		}
		for i := 0; i < len(s); i++ {
			for _, l := range byFirst[s[i]] {
				if len(s)-i >= len(l.s) && (l.fold && equalFoldLower(s[i:i+len(l.s)], l.s) || !l.fold && s[i:i+len(l.s)] == l.s) {
					return match(s)
				}
			}
		}
		return false
	}
}

// equalFoldLower reports whether the ASCII string a equals lower, a lower
// case string, ASCII case-insensitively.
func equalFoldLower(a, lower string) bool {
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
