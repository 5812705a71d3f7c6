package index

import (
	"regexp"
	"strings"
)

// userStep matches a history entry's created_by that is a USER instruction,
// as builders write it: BuildKit and kaniko "USER x", the classic builder
// and buildah "/bin/sh -c #(nop) USER x" (older Docker "USER [x]"). A RUN
// step that merely mentions USER does not match: the instruction must open
// the string or follow "#(nop)".
var userStep = regexp.MustCompile(`^\s*(?:(?:/bin/)?sh\s+-c\s+)?(?:#\(nop\)\s*)?USER\s+(.*?)\s*$`)

// HistoryUser reports whether createdBy is a USER step, and the user it
// sets ("" for a USER with nothing after it).
func HistoryUser(createdBy string) (string, bool) {
	if !strings.Contains(createdBy, "USER") {
		return "", false
	}
	m := userStep.FindStringSubmatch(createdBy)
	if m == nil {
		return "", false
	}
	u := m[1]
	if strings.HasPrefix(u, "[") && strings.HasSuffix(u, "]") {
		u = strings.TrimSpace(u[1 : len(u)-1])
	}
	return u, true
}
