package index

import (
	"database/sql/driver"
	"fmt"
	"path"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"

	"modernc.org/sqlite"
)

// registerFunctions registers, with register (a driver's
// RegisterDeterministicScalarFunction), the SQL functions every connection
// of the index has, for rules and ad hoc queries alike:
//
//	text REGEXP pattern        Go RE2 syntax (the REGEXP operator)
//	regexp_match(pattern, text) the same as a function
//	basename(path)             the last element of a path
//	link_escapes(path, target) 1 if a relative symlink target at path climbs
//	                           above the root (more ".." than directories)
func registerFunctions(register func(string, int32, func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error)) error) {
	must := func(err error) {
		if err != nil {
			panic(err) // only at init, for a name registered twice: a programming error
		}
	}
	must(register("regexp", 2, sqlRegexp))
	must(register("regexp_match", 2, sqlRegexp))
	must(register("basename", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		s, ok := text(args[0])
		if !ok {
			return nil, nil
		}
		return path.Base(s), nil
	}))
	must(register("link_escapes", 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		p, ok1 := text(args[0])
		t, ok2 := text(args[1])
		if !ok1 || !ok2 {
			return nil, nil
		}
		return boolInt(linkEscapes(p, t)), nil
	}))
}

// The default "sqlite" driver serves the write connection.
func init() { registerFunctions(sqlite.RegisterDeterministicScalarFunction) }

var regexpCache sync.Map // pattern -> func(string) bool

func sqlRegexp(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	pat, ok1 := text(args[0])
	s, ok2 := text(args[1])
	if !ok1 || !ok2 {
		return nil, nil
	}
	m, ok := regexpCache.Load(pat)
	if !ok {
		c, err := compileMatch(pat)
		if err != nil {
			return nil, fmt.Errorf("regexp %q: %w", pat, err)
		}
		m, _ = regexpCache.LoadOrStore(pat, c)
	}
	return boolInt(m.(func(string) bool)(s)), nil
}

// compileMatch compiles pat into a function reporting whether a string
// holds a match, as regexp.MatchString does. A pattern that is a single
// class of ASCII characters (such as rules' "[\x00-\x1f\x7f]", run on
// every path) gets a byte scan, many times faster than the regexp engine.
func compileMatch(pat string) (func(string) bool, error) {
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, err
	}
	if m := asciiClassMatch(pat); m != nil {
		return m, nil
	}
	return re.MatchString, nil
}

// asciiClassMatch returns a matcher for a pattern that is one character
// class of ASCII characters only, or nil. It matches exactly where the
// regexp does: a byte below 0x80 is always a whole rune, and a byte from
// 0x80 up is part of a rune, or an invalid byte, outside any ASCII class.
func asciiClassMatch(pat string) func(string) bool {
	t, err := syntax.Parse(pat, syntax.Perl) // regexp.Compile's flags
	if err != nil {
		return nil
	}
	t = t.Simplify()
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

func text(v driver.Value) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// linkEscapes reports whether a relative symlink target, resolved
// lexically from the directory of p, climbs above the root at any point.
// Absolute targets resolve inside the image's root and do not escape.
func linkEscapes(p, target string) bool {
	if strings.HasPrefix(target, "/") {
		return false
	}
	depth := strings.Count(path.Dir(path.Clean("/"+p)), "/")
	if path.Dir(path.Clean("/"+p)) == "/" {
		depth = 0
	}
	for _, el := range strings.Split(target, "/") {
		switch el {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}
