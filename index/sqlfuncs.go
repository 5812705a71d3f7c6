package index

import (
	"database/sql/driver"
	"fmt"
	"path"
	"strings"
	"sync"

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
