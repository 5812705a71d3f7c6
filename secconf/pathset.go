package secconf

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/auditor-dev/auditor/internal/pathglob"
)

// KindLines is the kind of a file config.toml adds to the path set without
// a format: its lines are captured, no structured rows.
const KindLines Kind = "lines"

// Kinds lists every kind a captured file can have (those an extra path may
// name).
func Kinds() []Kind {
	return []Kind{KindPasswd, KindShadow, KindGroup, KindGShadow, KindSudoers, KindSudoConf, KindPAM, KindPAMEnv, KindSSHD, KindSSH, KindAuthorized,
		KindCron, KindUserCron, KindCronScript, KindSystemd, KindInit, KindAutostart, KindShellRC, KindModules, KindModprobe, KindPreload,
		KindLdConf, KindHosts, KindResolv, KindNSSwitch, KindAptList, KindAptSources, KindAptConf, KindApkRepos, KindYumRepo,
		KindPip, KindNpm, KindGem, KindGitConfig, KindSysctl, KindLines}
}

// Extra is a pattern of files config.toml adds to the path set: Glob is an
// absolute path where * matches within one segment and ** across segments;
// Kind is how the files are read (KindLines when empty).
type Extra struct {
	Glob string
	Kind Kind
}

// PathSet is the path set the config scanner captures: the documented one
// (Classify) and the extra patterns config.toml adds. The zero value and
// nil are the documented set alone.
type PathSet struct {
	extra []Extra
	segs  [][]string
}

// NewPathSet checks the extra patterns (absolute, clean, valid globs, known
// kinds) and returns the path set with them; an error names the pattern.
func NewPathSet(extra []Extra) (*PathSet, error) {
	s := &PathSet{}
	for i, e := range extra {
		if e.Kind == KindNone {
			e.Kind = KindLines
		}
		switch {
		case !strings.HasPrefix(e.Glob, "/") || path.Clean(e.Glob) != e.Glob:
			return nil, fmt.Errorf("extra path #%d %q: not an absolute, clean path", i+1, e.Glob)
		case !slices.Contains(Kinds(), e.Kind):
			return nil, fmt.Errorf("extra path #%d %q: unknown kind %q", i+1, e.Glob, e.Kind)
		}
		if err := pathglob.Check(e.Glob); err != nil {
			return nil, fmt.Errorf("extra path #%d %q: %w", i+1, e.Glob, err)
		}
		s.extra = append(s.extra, e)
		s.segs = append(s.segs, strings.Split(e.Glob, "/"))
	}
	return s, nil
}

// Classify is the package's Classify, then the extra patterns in their
// order: an extra pattern adds files, it does not change how a file of the
// documented set is read.
func (s *PathSet) Classify(p string) Kind {
	if k := Classify(p); k != KindNone || s == nil || len(s.extra) == 0 {
		return k
	}
	name := strings.Split(p, "/")
	for i, g := range s.segs {
		if pathglob.MatchSegments(g, name) {
			return s.extra[i].Kind
		}
	}
	return KindNone
}

// Key identifies the extra patterns ("" without any), so that a scanner's
// version changes with them.
func (s *PathSet) Key() string {
	if s == nil || len(s.extra) == 0 {
		return ""
	}
	h := sha256.New()
	for _, e := range s.extra {
		fmt.Fprintf(h, "%s\x00%s\x00", e.Glob, e.Kind)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
