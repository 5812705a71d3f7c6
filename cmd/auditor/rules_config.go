package main

import (
	"fmt"
	"time"

	"github.com/auditor-dev/auditor/rules"
	"github.com/auditor-dev/auditor/scanners"
)

// RulesConfig is the [rules] table: which rules run after each scan, how
// findings are reported, and which are suppressed.
type RulesConfig struct {
	Enabled     bool                `toml:"enabled"`       // run the rules after each scan
	Defaults    bool                `toml:"defaults"`      // include the embedded default pack
	Files       []string            `toml:"files"`         // user rules files (globs); same id replaces a default rule
	Disable     []string            `toml:"disable"`       // rule ids (globs) not to run
	FailOn      string              `toml:"fail_on"`       // default of --fail-on ("" = never fail on findings)
	FailOnState string              `toml:"fail_on_state"` // default of --fail-on-state: new or open
	Format      string              `toml:"format"`        // default report format
	Jobs        int                 `toml:"jobs"`          // rules evaluated at once; 0 = one per core
	Timeout     time.Duration       `toml:"timeout"`       // a rule running longer fails; 0 = no limit
	Suppress    []rules.Suppression `toml:"suppress"`      // [[rules.suppress]] tables
}

// ContentConfig is the [content] table: the content patterns matched
// against regular files while layers stream.
type ContentConfig struct {
	Enabled     bool  `toml:"enabled"`
	MaxFileSize int64 `toml:"max_file_size"`
	// Matches recorded per file and per layer; the rest are counted
	// (content_overflow).
	MaxMatchesPerFile  int                `toml:"max_matches_per_file"`
	MaxMatchesPerLayer int                `toml:"max_matches_per_layer"`
	Defaults           bool               `toml:"defaults"` // include the embedded patterns
	Disable            []string           `toml:"disable"`  // pattern ids not to use
	Patterns           []scanners.Pattern `toml:"patterns"` // [[content.patterns]]; same id replaces a default
}

func defaultRulesConfig() RulesConfig {
	return RulesConfig{Enabled: true, Defaults: true, Format: "table", Timeout: defaultRuleTimeout}
}

func defaultContentConfig() ContentConfig {
	return ContentConfig{Enabled: true, Defaults: true, MaxFileSize: scanners.DefaultMaxFileSize,
		MaxMatchesPerFile: scanners.DefaultMaxMatchesPerFile, MaxMatchesPerLayer: scanners.DefaultMaxMatchesPerLayer}
}

// RuleSet builds the rules to run.
func (c Config) RuleSet() (*rules.Set, error) {
	return rules.NewSet(rules.SetOptions{NoDefaults: !c.Rules.Defaults, Files: c.Rules.Files, Disable: c.Rules.Disable})
}

// ContentMatcher builds the content matcher, or returns nil when content
// checks are disabled.
func (c Config) ContentMatcher() (*scanners.Matcher, error) {
	if !c.Content.Enabled {
		return nil, nil
	}
	var ps []scanners.Pattern
	byID := map[string]int{}
	if c.Content.Defaults {
		for _, p := range scanners.DefaultPatterns() {
			byID[p.ID] = len(ps)
			ps = append(ps, p)
		}
	}
	for i, p := range c.Content.Patterns {
		if p.ID == "" {
			return nil, fmt.Errorf("content pattern #%d: no id", i+1)
		}
		if i, ok := byID[p.ID]; ok {
			ps[i] = p
			continue
		}
		byID[p.ID] = len(ps)
		ps = append(ps, p)
	}
	for _, d := range c.Content.Disable {
		i, ok := byID[d]
		if !ok {
			return nil, fmt.Errorf("content disable: no pattern %q", d)
		}
		ps[i].ID = "" // dropped below
	}
	kept := ps[:0]
	for _, p := range ps {
		if p.ID != "" {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return nil, nil
	}
	m, err := scanners.NewMatcherWith(kept, scanners.MatcherOptions{MaxFileSize: c.Content.MaxFileSize,
		MaxMatchesPerFile: c.Content.MaxMatchesPerFile, MaxMatchesPerLayer: c.Content.MaxMatchesPerLayer})
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	return m, nil
}

// failOn parses a --fail-on value: "" or "none" means never.
func failOn(s string) (rules.Severity, bool, error) {
	if s == "" || s == "none" {
		return 0, false, nil
	}
	sev, err := rules.ParseSeverity(s)
	if err != nil {
		return 0, false, err
	}
	return sev, true, nil
}
