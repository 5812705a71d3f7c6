package pkgdb

// fnmatch reports whether name matches the shell glob pattern as POSIX
// fnmatch(3) does without FNM_PERIOD: "*" any run of bytes, "?" one byte,
// "[...]" a set (ranges, leading "!" or "^" negates), "\" quotes the next
// byte. With pathname (FNM_PATHNAME), no wildcard matches "/". A malformed
// set ("[" without "]") matches a literal "[", as glibc does. Matching is
// O(len(pattern)*len(name)): the last "*" is the only backtrack point.
func fnmatch(pattern, name string, pathname bool) bool {
	p, n := 0, 0
	starP, starN := -1, -1
	for n < len(name) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				starP, starN = p, n
				p++
				continue
			case '?':
				if !(pathname && name[n] == '/') {
					p++
					n++
					continue
				}
			case '[':
				if ok, width := matchSet(pattern[p:], name[n], pathname); width > 0 {
					if ok {
						p += width
						n++
						continue
					}
				} else if name[n] == '[' {
					p++
					n++
					continue
				}
			case '\\':
				if p+1 < len(pattern) {
					if pattern[p+1] == name[n] {
						p += 2
						n++
						continue
					}
				} else if name[n] == '\\' {
					p++
					n++
					continue
				}
			default:
				if c == name[n] {
					p++
					n++
					continue
				}
			}
		}
		// Mismatch: let the last "*" eat one more byte, unless that byte
		// is a "/" it may not cross.
		if starP < 0 || (pathname && name[starN] == '/') {
			return false
		}
		starN++
		p, n = starP+1, starN
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchSet matches c against the set that opens set (set[0] == '['). It
// returns the set's width in bytes, 0 when the set does not close.
func matchSet(set string, c byte, pathname bool) (bool, int) {
	i := 1
	negate := false
	if i < len(set) && (set[i] == '!' || set[i] == '^') {
		negate = true
		i++
	}
	matched := false
	first := true
	for i < len(set) {
		if set[i] == ']' && !first {
			if pathname && c == '/' {
				return false, i + 1
			}
			return matched != negate, i + 1
		}
		first = false
		lo := set[i]
		if lo == '\\' && i+1 < len(set) {
			i++
			lo = set[i]
		}
		i++
		hi := lo
		if i+1 < len(set) && set[i] == '-' && set[i+1] != ']' {
			hi = set[i+1]
			if hi == '\\' && i+2 < len(set) {
				i++
				hi = set[i+1]
			}
			i += 2
		}
		if lo <= c && c <= hi {
			matched = true
		}
	}
	return false, 0
}
