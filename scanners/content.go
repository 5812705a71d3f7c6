// Package scanners holds auditor's per-layer scanners (crawl.LayerScanner):
// the content patterns (Matcher) and the package databases' capture.
package scanners

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
)

// DefaultMaxFileSize is the largest regular file matched against content
// patterns when the configuration does not say (1 MiB).
const DefaultMaxFileSize = 1 << 20

// matcherAlgorithm is part of every content version: raise it when the way
// patterns are applied changes, so layers are matched again.
const matcherAlgorithm = "1"

// Pattern is a content pattern: a regular expression looked for in the
// content of regular files as layers stream.
type Pattern struct {
	ID          string `toml:"id" json:"id"`
	Description string `toml:"description" json:"description,omitempty"`
	// Regex is RE2 syntax. With a (?P<secret>...) group, only that group is
	// redacted in excerpts; otherwise the whole match is (when Secret).
	Regex string `toml:"regex" json:"regex"`
	// Literals are strings every match contains. Files without any are
	// skipped fast and the regex runs only near them; with none, the regex
	// runs over every file (slow).
	Literals []string `toml:"literals" json:"literals,omitempty"`
	// Secret makes excerpts keep only the first 4 characters of the match.
	Secret bool `toml:"secret" json:"secret"`
}

//go:embed patterns.toml
var defaultPatternsTOML string

// DefaultPatterns returns the embedded content patterns.
func DefaultPatterns() []Pattern {
	var f struct {
		Pattern []Pattern `toml:"pattern"`
	}
	if _, err := toml.Decode(defaultPatternsTOML, &f); err != nil {
		panic("scanners: embedded patterns.toml: " + err.Error()) // a build defect, caught by tests
	}
	return f.Pattern
}

// Matcher matches content patterns; it is the per-layer scanner
// index.ContentScanner (a crawl.LayerScanner), safe for concurrent use: it
// sees every regular file up to its MaxSize as layers stream, and stores
// its matches in the content_matches view.
type Matcher struct {
	patterns []compiledPattern
	literals []literal // unique literals, each with the patterns that need it
	groups   []pivotGroup
	full     []int // patterns without literals: run over whole files
	maxSize  int64
	version  string
}

var _ crawl.LayerScanner = (*Matcher)(nil)

type compiledPattern struct {
	Pattern
	re     *regexp.Regexp
	secret int // index of the "secret" group, or -1
}

type literal struct {
	s        []byte
	at       int // index in s of its pivot byte
	patterns []int
}

// pivotGroup is the literals found by one IndexByte pass over a file: all
// those whose rarest byte is b.
type pivotGroup struct {
	b    byte
	lits []int // indexes in Matcher.literals
}

// byteRarity ranks printable bytes from rarest to commonest, as measured
// over the files of a Debian base image (text and binaries). Searching a
// literal by its rarest byte makes IndexByte stop far less often than on
// its first byte.
const byteRarity = "&*qQj~JZY^{#zKW;}'!>+V<`:O\"RX[?wkvN|]yFG),=U\\7-PMxC/6S3b%g4@5Tm(982B.hpE_cId0lufnoDrLisa1A$teH"

// sharePivots lets a literal search by a byte another literal already
// searches by, when that byte is nearly as rare as its own pivot: one
// IndexByte pass over each file serves both.
func sharePivots(lits []literal) {
	const slack = 12 // ranks a shared byte may be commoner by
	rank := func(c byte) int {
		if r := strings.IndexByte(byteRarity, c); r >= 0 {
			return r
		}
		return len(byteRarity)
	}
	for changed := true; changed; {
		changed = false
		used := map[byte]int{}
		for _, l := range lits {
			used[l.s[l.at]]++
		}
		for i := range lits {
			l := &lits[i]
			own := l.s[l.at]
			if used[own] > 1 {
				continue // already shared
			}
			for j, c := range l.s {
				if c != own && used[c] > 0 && rank(c) <= rank(own)+slack {
					l.at = j
					changed = true
					break
				}
			}
			if changed {
				break
			}
		}
	}
}

// pivot returns the index of the rarest byte of s.
func pivot(s []byte) int {
	best, rank := 0, len(byteRarity)+1
	for i, c := range s {
		r := strings.IndexByte(byteRarity, c)
		if r < 0 {
			r = len(byteRarity) // spaces, controls and high bytes: common
		}
		if r < rank {
			best, rank = i, r
		}
	}
	return best
}

// Window around a literal hit in which a pattern's regex runs: a match
// must contain the hit and fit in it.
const (
	windowBefore = 256
	windowAfter  = 4096
	maxExcerpt   = 120
)

// NewMatcher compiles patterns for files up to maxSize bytes (0 means
// DefaultMaxFileSize). Pattern ids must be unique.
func NewMatcher(patterns []Pattern, maxSize int64) (*Matcher, error) {
	if maxSize < 0 {
		return nil, fmt.Errorf("content max_file_size must be positive, got %d", maxSize)
	}
	if maxSize == 0 {
		maxSize = DefaultMaxFileSize
	}
	m := &Matcher{maxSize: maxSize}
	seen := map[string]bool{}
	lits := map[string]int{}
	for _, p := range patterns {
		if p.ID == "" {
			return nil, fmt.Errorf("content pattern with regex %q: no id", p.Regex)
		}
		if seen[p.ID] {
			return nil, fmt.Errorf("content pattern %s: defined twice", p.ID)
		}
		seen[p.ID] = true
		re, err := regexp.Compile(p.Regex)
		if err != nil {
			return nil, fmt.Errorf("content pattern %s: %w", p.ID, err)
		}
		i := len(m.patterns)
		m.patterns = append(m.patterns, compiledPattern{Pattern: p, re: re, secret: re.SubexpIndex("secret")})
		if len(p.Literals) == 0 {
			m.full = append(m.full, i)
		}
		for _, l := range p.Literals {
			if l == "" {
				return nil, fmt.Errorf("content pattern %s: empty literal", p.ID)
			}
			j, ok := lits[l]
			if !ok {
				j = len(m.literals)
				lits[l] = j
				m.literals = append(m.literals, literal{s: []byte(l), at: pivot([]byte(l))})
			}
			m.literals[j].patterns = append(m.literals[j].patterns, i)
		}
	}
	sharePivots(m.literals)
	for i, l := range m.literals {
		b := l.s[l.at]
		j := slices.IndexFunc(m.groups, func(g pivotGroup) bool { return g.b == b })
		if j < 0 {
			j = len(m.groups)
			m.groups = append(m.groups, pivotGroup{b: b})
		}
		m.groups[j].lits = append(m.groups[j].lits, i)
	}
	sorted := append([]Pattern(nil), patterns...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].ID < sorted[b].ID })
	b, _ := json.Marshal(struct {
		Algorithm string
		MaxSize   int64
		Patterns  []Pattern
	}{matcherAlgorithm, maxSize, sorted})
	sum := sha256.Sum256(b)
	m.version = hex.EncodeToString(sum[:8])
	return m, nil
}

// Name is index.ContentScanner.
func (m *Matcher) Name() string { return index.ContentScanner }

// Version identifies the patterns, the size limit and the algorithm.
func (m *Matcher) Version() string { return m.version }

// NewScan starts matching the files of one layer.
func (m *Matcher) NewScan(out crawl.ScanSink) crawl.LayerScan { return &contentScan{m: m, out: out} }

// contentScan is a Matcher reading one layer.
type contentScan struct {
	m   *Matcher
	out crawl.ScanSink
}

func (s *contentScan) Wants(_ string, size int64) bool { return size > 0 && size <= s.m.maxSize }

func (s *contentScan) File(seq int, path string, content []byte) error {
	for _, c := range s.m.Match(path, content) {
		c.Seq = seq
		s.out.AddMatch(c)
	}
	return nil
}

func (s *contentScan) Done() error { return nil }

// MaxSize is the largest file matched.
func (m *Matcher) MaxSize() int64 { return m.maxSize }

// Patterns returns the patterns, in the order given.
func (m *Matcher) Patterns() []Pattern {
	out := make([]Pattern, len(m.patterns))
	for i, p := range m.patterns {
		out[i] = p.Pattern
	}
	return out
}

// Match returns every pattern match in content, at most one per pattern and
// start offset, ordered by offset.
func (m *Matcher) Match(_ string, content []byte) []index.ContentMatch {
	var out []index.ContentMatch
	type key struct {
		p     int
		start int
	}
	var seen map[key]bool
	add := func(p int, base int, loc []int) {
		start := base + loc[0]
		k := key{p, start}
		if seen == nil {
			seen = map[key]bool{}
		}
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, index.ContentMatch{PatternID: m.patterns[p].ID, Offset: int64(start), Excerpt: m.patterns[p].excerpt(content[base:], loc)})
	}
	for _, g := range m.groups {
		for off := 0; off < len(content); {
			i := bytes.IndexByte(content[off:], g.b)
			if i < 0 {
				break
			}
			at := off + i
			off = at + 1
			for _, li := range g.lits {
				l := &m.literals[li]
				hit := at - l.at
				if hit < 0 || hit+len(l.s) > len(content) || !bytes.Equal(content[hit:hit+len(l.s)], l.s) {
					continue
				}
				lo, hi := max(0, hit-windowBefore), min(len(content), hit+windowAfter)
				for _, p := range l.patterns {
					for _, loc := range m.patterns[p].re.FindAllSubmatchIndex(content[lo:hi], -1) {
						if lo+loc[0] <= hit && hit < lo+loc[1] {
							add(p, lo, loc)
						}
					}
				}
			}
		}
	}
	for _, p := range m.full {
		for _, loc := range m.patterns[p].re.FindAllSubmatchIndex(content, -1) {
			add(p, 0, loc)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Offset < out[b].Offset })
	return out
}

// excerpt renders a match (loc from FindSubmatchIndex over b), redacted when
// the pattern is a secret, printable and bounded.
func (p *compiledPattern) excerpt(b []byte, loc []int) string {
	s, e := loc[0], loc[1]
	if !p.Secret {
		return printable(b[s:e])
	}
	ss, se := s, e // the part to redact
	if p.secret >= 0 && loc[2*p.secret] >= 0 {
		ss, se = loc[2*p.secret], loc[2*p.secret+1]
	}
	keep := min(4, (se-ss)/4)
	var sb strings.Builder
	sb.WriteString(printable(b[s : ss+keep]))
	sb.WriteString(strings.Repeat("*", min(se-ss-keep, 16)))
	sb.WriteString(fmt.Sprintf("(%d chars)", se-ss))
	sb.WriteString(printable(b[se:e]))
	return sb.String()
}

// printable makes bytes safe to show: invalid UTF-8 and control characters
// become '.', and the result is at most maxExcerpt runes.
func printable(b []byte) string {
	var sb strings.Builder
	n := 0
	for len(b) > 0 && n < maxExcerpt {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r == utf8.RuneError || r < 0x20 || r == 0x7f {
			r = '.'
		}
		sb.WriteRune(r)
		n++
	}
	if len(b) > 0 {
		sb.WriteString("...")
	}
	return sb.String()
}
