// Package rules loads rules (SQL over the index's public views, in TOML
// files), runs them read-only, keeps track of the findings they make
// (new, open, resolved, suppressed) and renders reports. A default pack of
// rules and content patterns is embedded.
package rules

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Severity ranks findings.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s >= 0 && int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// ParseSeverity parses info, low, medium, high or critical (any case).
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Rule is one rule: SQL over the public views returning at least
// image_digest, path, layer_digest and detail, one row per finding.
type Rule struct {
	ID          string
	Title       string
	Severity    Severity
	Description string // why it matters, what to do
	Query       string
	// Scope is "image" for a rule whose findings on an image depend only on
	// that image's own rows (its files, layers, config, history, content
	// matches): runs then evaluate it only on images new or changed since
	// its last run. "fleet" (the default) rules compare images with each
	// other and are evaluated on everything every run.
	Scope string

	// Source is the file the rule came from ("default/NAME.toml" for the
	// embedded pack).
	Source string
}

// Version is a content hash of what the rule does and says.
func (r *Rule) Version() string {
	h := sha256.New()
	for _, s := range []string{r.ID, r.Title, r.Severity.String(), r.Description, r.Query, r.Scope} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// Rule scopes.
const (
	ScopeFleet = "fleet" // evaluated on the whole index every run
	ScopeImage = "image" // evaluated only on images new or changed since the rule's last run
)

// RequiredColumns are the columns every rule query must return.
var RequiredColumns = []string{"image_digest", "path", "layer_digest", "detail"}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// ruleFile is the layout of a rules file: any number of [[rule]] tables.
type ruleFile struct {
	Rule []struct {
		ID          string `toml:"id"`
		Title       string `toml:"title"`
		Severity    string `toml:"severity"`
		Description string `toml:"description"`
		Query       string `toml:"query"`
		Scope       string `toml:"scope"`
	} `toml:"rule"`
}

// ParseFile parses a rules file's content. name is used in errors and as
// the rules' Source. It checks everything that needs no database: unknown
// keys, missing fields, ids, severities and duplicate ids; Validate
// compiles the queries.
func ParseFile(name string, data []byte) ([]Rule, error) {
	var f ruleFile
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		return nil, fmt.Errorf("rules file %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return nil, fmt.Errorf("rules file %s: unknown key %s (a [[rule]] has id, title, severity, description, query and scope)", name, strings.Join(keys, ", "))
	}
	if len(f.Rule) == 0 {
		return nil, fmt.Errorf("rules file %s: no [[rule]] tables", name)
	}
	seen := map[string]bool{}
	out := make([]Rule, 0, len(f.Rule))
	for i, fr := range f.Rule {
		r := Rule{ID: fr.ID, Title: fr.Title, Description: strings.TrimSpace(fr.Description), Query: strings.TrimSpace(fr.Query),
			Scope: fr.Scope, Source: name}
		if r.Scope == "" {
			r.Scope = ScopeFleet
		}
		what := fmt.Sprintf("rules file %s: rule #%d", name, i+1)
		if r.ID != "" {
			what = fmt.Sprintf("rules file %s: rule %s", name, r.ID)
		}
		switch {
		case r.ID == "":
			return nil, fmt.Errorf("%s: missing id", what)
		case !idRE.MatchString(r.ID):
			return nil, fmt.Errorf("%s: id must be lowercase letters, digits, '.', '_' or '-'", what)
		case seen[r.ID]:
			return nil, fmt.Errorf("%s: defined twice in the file", what)
		case r.Title == "":
			return nil, fmt.Errorf("%s: missing title", what)
		case fr.Severity == "":
			return nil, fmt.Errorf("%s: missing severity (info, low, medium, high or critical)", what)
		case r.Description == "":
			return nil, fmt.Errorf("%s: missing description (why it matters, what to do)", what)
		case r.Query == "":
			return nil, fmt.Errorf("%s: missing query", what)
		case r.Scope != ScopeFleet && r.Scope != ScopeImage:
			return nil, fmt.Errorf("%s: scope %q: want %q or %q", what, r.Scope, ScopeImage, ScopeFleet)
		}
		if r.Severity, err = ParseSeverity(fr.Severity); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		seen[r.ID] = true
		out = append(out, r)
	}
	return out, nil
}

// LoadFile reads and parses one rules file.
func LoadFile(file string) ([]Rule, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	return ParseFile(file, data)
}

//go:embed default/*.toml
var defaultFS embed.FS

// Default returns the embedded default pack, ordered by id.
func Default() ([]Rule, error) {
	names, err := fs.Glob(defaultFS, "default/*.toml")
	if err != nil {
		return nil, err
	}
	var out []Rule
	for _, n := range names {
		data, err := defaultFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		rs, err := ParseFile(n, data)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	for i := 1; i < len(out); i++ {
		if out[i].ID == out[i-1].ID {
			return nil, fmt.Errorf("default rules: %s defined in %s and %s", out[i].ID, out[i-1].Source, out[i].Source)
		}
	}
	return out, nil
}

// Set is the rules to run: the default pack, overridden and extended by
// user files, minus the disabled ones.
type Set struct {
	Rules    []Rule          // enabled, ordered by id
	Disabled []Rule          // known but disabled
	disabled map[string]bool // ids
}

// SetOptions say how to build a Set.
type SetOptions struct {
	NoDefaults bool     // leave the embedded pack out
	Files      []string // user rules files or globs; a rule with a default's id replaces it
	Disable    []string // rule ids (or path.Match globs of ids) not to run
}

// ErrNoMatch is wrapped when a rules file glob or disable entry matches
// nothing (most likely a typo).
var ErrNoMatch = errors.New("matches nothing")

// NewSet builds the rule set. Every file glob and disable entry must match.
func NewSet(o SetOptions) (*Set, error) {
	byID := map[string]Rule{}
	if !o.NoDefaults {
		def, err := Default()
		if err != nil {
			return nil, err
		}
		for _, r := range def {
			byID[r.ID] = r
		}
	}
	userIDs := map[string]string{}
	for _, g := range o.Files {
		files, err := globFiles(g)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			rs, err := LoadFile(f)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				if prev, ok := userIDs[r.ID]; ok {
					return nil, fmt.Errorf("rules file %s: rule %s: already defined in %s", f, r.ID, prev)
				}
				userIDs[r.ID] = f
				byID[r.ID] = r
			}
		}
	}
	s := &Set{disabled: map[string]bool{}}
	for _, d := range o.Disable {
		n := 0
		for id := range byID {
			if ok, err := path.Match(d, id); err != nil {
				return nil, fmt.Errorf("rules disable %q: %w", d, err)
			} else if ok {
				s.disabled[id] = true
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("rules disable %q: %w: no rule has that id", d, ErrNoMatch)
		}
	}
	for id, r := range byID {
		if s.disabled[id] {
			s.Disabled = append(s.Disabled, r)
		} else {
			s.Rules = append(s.Rules, r)
		}
	}
	sort.Slice(s.Rules, func(i, j int) bool { return s.Rules[i].ID < s.Rules[j].ID })
	sort.Slice(s.Disabled, func(i, j int) bool { return s.Disabled[i].ID < s.Disabled[j].ID })
	return s, nil
}

func globFiles(g string) ([]string, error) {
	if !strings.ContainsAny(g, "*?[") {
		if _, err := os.Stat(g); err != nil {
			return nil, fmt.Errorf("rules file: %w", err)
		}
		return []string{g}, nil
	}
	files, err := filepath.Glob(g)
	if err != nil {
		return nil, fmt.Errorf("rules files %q: %w", g, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("rules files %q: %w", g, ErrNoMatch)
	}
	return files, nil
}
