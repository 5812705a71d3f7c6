package rules

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// Suppression silences findings the team has looked at. Suppressed findings
// are still recorded (shown as suppressed) but never count for --fail-on.
type Suppression struct {
	// Fingerprint suppresses one finding. Otherwise Rule (a rule id, or a
	// glob of them: "setuid-*") is required, and Image and Path narrow it
	// down.
	Fingerprint string `toml:"fingerprint"`
	Rule        string `toml:"rule"`
	// Image is a glob matched against the image digest and each of
	// "registry/repository", "repository" and "repository:tag" naming it.
	Image string `toml:"image"`
	// Path is a glob matched against the finding's path.
	Path string `toml:"path"`
	// Reason is required: why this is acceptable, for the next reader.
	Reason string `toml:"reason"`
	// Expires is a date (YYYY-MM-DD) after which the suppression no longer
	// applies; "" for never.
	Expires string `toml:"expires"`

	image, path *regexp.Regexp
	until       time.Time
}

// CheckSuppressions validates suppressions as a rules run will (reason
// required, one of fingerprint or rule, globs, expiry dates), so that a
// mistake is found before a scan, not after its crawl.
func CheckSuppressions(ss []Suppression) error {
	for i := range ss {
		s := ss[i] // compile fills unexported fields: check a copy
		if err := s.compile(i); err != nil {
			return err
		}
	}
	return nil
}

// compile validates s; i is its position for errors.
func (s *Suppression) compile(i int) error {
	what := fmt.Sprintf("suppression #%d", i+1)
	if s.Fingerprint != "" {
		what += " (" + s.Fingerprint + ")"
	} else if s.Rule != "" {
		what += " (rule " + s.Rule + ")"
	}
	switch {
	case strings.TrimSpace(s.Reason) == "":
		return fmt.Errorf("%s: reason is required", what)
	case s.Fingerprint == "" && s.Rule == "":
		return fmt.Errorf("%s: give a fingerprint, or a rule (with image and path globs to narrow it)", what)
	case s.Fingerprint != "" && (s.Rule != "" || s.Image != "" || s.Path != ""):
		return fmt.Errorf("%s: a fingerprint names one finding; leave rule, image and path out", what)
	}
	if s.Expires != "" {
		t, err := time.Parse(time.DateOnly, s.Expires)
		if err != nil {
			return fmt.Errorf("%s: expires %q: want YYYY-MM-DD", what, s.Expires)
		}
		s.until = t
	}
	s.image, s.path = globRE(s.Image), globRE(s.Path)
	if _, err := path.Match(s.Rule, ""); err != nil { // a glob, as in [rules] disable
		return fmt.Errorf("%s: rule %q: %w", what, s.Rule, err)
	}
	return nil
}

// globRE compiles a glob where * matches any run of characters (including
// '/') and ? one character; "" matches everything (nil).
func globRE(g string) *regexp.Regexp {
	if g == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString("^")
	for _, r := range g {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// active reports whether s still applies on day now.
func (s *Suppression) active(now time.Time) bool {
	return s.until.IsZero() || !now.After(s.until.AddDate(0, 0, 1).Add(-time.Nanosecond))
}

// matches reports whether s applies to f, whose image is known by names.
func (s *Suppression) matches(f *Finding, names []string) bool {
	if s.Fingerprint != "" {
		return s.Fingerprint == f.Fingerprint
	}
	if ok, _ := path.Match(s.Rule, f.RuleID); !ok {
		return false
	}
	if s.path != nil && !s.path.MatchString(f.Path) {
		return false
	}
	if s.image == nil {
		return true
	}
	if s.image.MatchString(f.ImageDigest) {
		return true
	}
	for _, n := range names {
		if s.image.MatchString(n) {
			return true
		}
	}
	return false
}
