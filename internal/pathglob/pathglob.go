// Package pathglob matches slash-separated names (repository names, file
// paths) against globs: path.Match syntax within a segment, and "**" for
// any number of whole segments.
package pathglob

import (
	"path"
	"strings"
)

// Match reports whether name matches glob.
func Match(glob, name string) bool {
	return MatchSegments(strings.Split(glob, "/"), strings.Split(name, "/"))
}

// MatchSegments is Match on names already split at "/".
func MatchSegments(glob, name []string) bool {
	for len(glob) > 0 {
		if glob[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if MatchSegments(glob[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(glob[0], name[0]); !ok {
			return false
		}
		glob, name = glob[1:], name[1:]
	}
	return len(name) == 0
}

// Check reports a syntax error in glob, naming it.
func Check(glob string) error {
	for _, seg := range strings.Split(glob, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return err
		}
	}
	return nil
}
