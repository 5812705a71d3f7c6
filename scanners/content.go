// Package scanners holds auditor's per-layer scanners (crawl.LayerScanner):
// the content patterns (Matcher) and the package databases' capture.
package scanners

import (
	"bytes"
	"cmp"
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

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
)

// DefaultMaxFileSize is the largest regular file matched against content
// patterns when the configuration does not say (1 MiB).
const DefaultMaxFileSize = 1 << 20

// Default caps on the content matches recorded: a file or layer full of
// look-alikes (a 132 KB layer of AWS key ids once made 2.5M rows) records
// this many, and counts the rest (the content_overflow view).
const (
	DefaultMaxMatchesPerFile  = 100
	DefaultMaxMatchesPerLayer = 10_000
)

// matcherAlgorithm is part of every content version: raise it when the way
// patterns are applied changes, so layers are matched again.
const matcherAlgorithm = "3"

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
	// Head also matches the pattern against the first HeadSize bytes of
	// files larger than the matcher's max_file_size (a packer's marks, a
	// format's header), which are otherwise not read.
	Head bool `toml:"head" json:"head,omitempty"`
	// Line says a match lies within one line: the regex runs only over
	// the line around each literal hit (within the window), which is far
	// cheaper than the whole window in files with few line breaks. A NUL
	// ends a line too (the strings of a compiled program).
	Line bool `toml:"line" json:"line,omitempty"`
}

// HeadSize is how much of a file larger than max_file_size the patterns
// with Head see: its first 64 KiB.
const HeadSize = 64 << 10

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
// auditor.ContentScanner (a crawl.LayerScanner), safe for concurrent use: it
// sees every regular file up to its MaxSize as layers stream, and stores
// its matches in the content_matches view.
type Matcher struct {
	patterns []compiledPattern
	literals []literal // unique literals, each with the patterns that need it
	groups   []pivotGroup
	full     []int // patterns without literals: run over whole files
	maxSize  int64
	perFile  int // matches recorded per file
	perLayer int // matches recorded per layer
	version  string
	head     *Matcher // the patterns with Head, for the heads of larger files; nil without any
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

// Around a literal hit, a pattern's regex looks for a match that contains
// the hit and fits in windowBefore bytes before it and windowAfter from
// it. Windows that overlap are merged, and the regex runs once over each
// run of them: the work is linear in the file's size however many hits it
// holds.
const (
	windowBefore = 256
	windowAfter  = 4096
	maxExcerpt   = 120
)

// MatcherOptions are a Matcher's bounds; zero fields take the defaults.
type MatcherOptions struct {
	MaxFileSize        int64 // largest file matched, in bytes
	MaxMatchesPerFile  int   // matches recorded per file (by offset); the rest are counted
	MaxMatchesPerLayer int   // matches recorded per layer (in tar order); the rest are counted
}

// NewMatcher compiles patterns for files up to maxSize bytes (0 means
// DefaultMaxFileSize), with the default caps on matches. Pattern ids must
// be unique.
func NewMatcher(patterns []Pattern, maxSize int64) (*Matcher, error) {
	return NewMatcherWith(patterns, MatcherOptions{MaxFileSize: maxSize})
}

// NewMatcherWith is NewMatcher with all the bounds.
func NewMatcherWith(patterns []Pattern, o MatcherOptions) (*Matcher, error) {
	if o.MaxFileSize < 0 {
		return nil, fmt.Errorf("content max_file_size must be positive, got %d", o.MaxFileSize)
	}
	if o.MaxMatchesPerFile < 0 || o.MaxMatchesPerLayer < 0 {
		return nil, fmt.Errorf("content max_matches_per_file and max_matches_per_layer must be positive, got %d and %d", o.MaxMatchesPerFile, o.MaxMatchesPerLayer)
	}
	maxSize := cmp.Or(o.MaxFileSize, DefaultMaxFileSize)
	m := &Matcher{maxSize: maxSize, perFile: cmp.Or(o.MaxMatchesPerFile, DefaultMaxMatchesPerFile),
		perLayer: cmp.Or(o.MaxMatchesPerLayer, DefaultMaxMatchesPerLayer)}
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
	var heads []Pattern
	for _, p := range patterns {
		if p.Head {
			heads = append(heads, p)
		}
	}
	if len(heads) > 0 {
		var err error
		if m.head, err = NewMatcherWith(onlyWhole(heads), o); err != nil {
			return nil, err
		}
	}
	sorted := append([]Pattern(nil), patterns...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].ID < sorted[b].ID })
	b, _ := json.Marshal(struct {
		Algorithm         string
		MaxSize           int64
		HeadSize          int
		PerFile, PerLayer int
		Patterns          []Pattern
	}{matcherAlgorithm, maxSize, HeadSize, m.perFile, m.perLayer, sorted})
	sum := sha256.Sum256(b)
	m.version = hex.EncodeToString(sum[:8])
	return m, nil
}

// onlyWhole returns the patterns with Head cleared: the matcher of heads
// matches them over the heads it is given.
func onlyWhole(ps []Pattern) []Pattern {
	out := make([]Pattern, len(ps))
	for i, p := range ps {
		p.Head = false
		out[i] = p
	}
	return out
}

// Name is auditor.ContentScanner.
func (m *Matcher) Name() string { return auditor.ContentScanner }

// Version identifies the patterns, the size limit, the caps and the
// algorithm.
func (m *Matcher) Version() string { return m.version }

// NewScan starts matching the files of one layer.
func (m *Matcher) NewScan(out crawl.ScanSink) crawl.LayerScan { return &contentScan{m: m, out: out} }

// contentScan is a Matcher reading one layer.
type contentScan struct {
	m    *Matcher
	out  crawl.ScanSink
	kept int // matches recorded in the layer so far
}

var _ crawl.HeadScan = (*contentScan)(nil)

func (s *contentScan) Wants(_ string, size int64) bool { return size > 0 && size <= s.m.maxSize }

// WantsHead asks for the first HeadSize bytes of a file too large to be
// matched whole, when some pattern has Head.
func (s *contentScan) WantsHead(_ string, size int64) int {
	if s.m.head == nil || size <= s.m.maxSize {
		return 0
	}
	return HeadSize
}

// Head records the matches of the patterns with Head in the first bytes of
// a larger file, as File does.
func (s *contentScan) Head(seq int, _ string, head []byte) error {
	return s.record(s.m.head, seq, head)
}

// File records the first matches of the file, within the caps, and counts
// the others.
func (s *contentScan) File(seq int, _ string, content []byte) error {
	return s.record(s.m, seq, content)
}

// record adds the matches of m in content, within the caps, and counts the
// others.
func (s *contentScan) record(m *Matcher, seq int, content []byte) error {
	limit := max(0, min(s.m.perFile, s.m.perLayer-s.kept))
	ms, total := m.match(content, limit)
	for _, c := range ms {
		c.Seq = seq
		s.out.AddMatch(c)
	}
	s.kept += len(ms)
	if total > len(ms) {
		s.out.AddDropped(auditor.ContentDrop{Seq: seq, Dropped: int64(total - len(ms))})
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
// start offset, ordered by offset (no cap applies).
func (m *Matcher) Match(_ string, content []byte) []auditor.ContentMatch {
	ms, _ := m.match(content, -1)
	return ms
}

// found is a match of pattern p at [start, end) of the file, found by
// running its regex over content[lo:hi].
type found struct {
	p, start, end, lo, hi int
}

// match returns the first limit matches in content by offset (all of them
// when limit < 0), and how many there are. The regex of a pattern with
// literals runs once over each run of overlapping windows around the hits
// of its literals, and keeps the matches that contain a hit and fit in its
// window; only the matches returned get their groups and excerpt worked
// out.
func (m *Matcher) match(content []byte, limit int) ([]auditor.ContentMatch, int) {
	hits := make([][]int, len(m.patterns)) // per pattern: where its literals start
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
				for _, p := range l.patterns {
					hits[p] = append(hits[p], hit)
				}
			}
		}
	}
	var all []found
	for p, hs := range hits {
		if len(hs) == 0 {
			continue
		}
		slices.Sort(hs)
		hs = slices.Compact(hs)
		// The hits' windows, merged where they overlap: the regex runs once
		// over each run of them.
		line := m.patterns[p].Line
		for b := 0; b < len(hs); {
			lo, hi := window(content, hs[b], line)
			for b++; b < len(hs); b++ {
				l, h := window(content, hs[b], line)
				if l >= hi {
					break
				}
				hi = h
			}
			for _, loc := range m.patterns[p].re.FindAllIndex(content[lo:hi], -1) {
				start, end := lo+loc[0], lo+loc[1]
				// A match must contain a hit and fit in its window.
				h, _ := slices.BinarySearch(hs, start)
				if h < len(hs) && hs[h] < end && end <= hs[h]+windowAfter {
					all = append(all, found{p, start, end, lo, hi})
				}
			}
		}
	}
	for _, p := range m.full {
		for _, loc := range m.patterns[p].re.FindAllIndex(content, -1) {
			all = append(all, found{p, loc[0], loc[1], 0, len(content)})
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].start < all[b].start })
	kept := all
	if limit >= 0 && len(kept) > limit {
		kept = kept[:limit]
	}
	var out []auditor.ContentMatch
	for _, f := range kept {
		pat := &m.patterns[f.p]
		out = append(out, auditor.ContentMatch{PatternID: pat.ID, Offset: int64(f.start), Excerpt: pat.excerpt(content, pat.groups(content, f))})
	}
	return out, len(all)
}

// window returns where a match holding the literal hit at can lie: from
// windowBefore bytes before it to windowAfter bytes from it, within its line
// for a Line pattern.
func window(content []byte, at int, line bool) (int, int) {
	lo, hi := max(0, at-windowBefore), min(len(content), at+windowAfter)
	if line {
		if i := lastLineEnd(content[lo:at]); i >= 0 {
			lo += i + 1
		}
		if i := lineEnd(content[at:hi]); i >= 0 {
			hi = at + i
		}
	}
	return lo, hi
}

// lineEnd returns where the first line of b ends, -1 if it does not: at a
// newline, or at a NUL, which ends each string a compiled program keeps and
// is in no line of a script. In a binary, the line of a literal hit is then
// the string holding it, not kilobytes of code around it.
func lineEnd(b []byte) int {
	n := bytes.IndexByte(b, '\n')
	if n < 0 {
		n = len(b)
	}
	if z := bytes.IndexByte(b[:n], 0); z >= 0 {
		return z
	}
	if n == len(b) {
		return -1
	}
	return n
}

// lastLineEnd returns where the last line break of b is (a newline or a
// NUL, as lineEnd), -1 for none.
func lastLineEnd(b []byte) int {
	return max(bytes.LastIndexByte(b, '\n'), bytes.LastIndexByte(b, 0))
}

// groups returns the submatch offsets of the match f of p: the regex run
// again over the match with a byte of context either side (\b sees what
// the first run saw), or without the byte before (a match starting there
// would hide it); the match alone, without groups, if neither finds it.
func (p *compiledPattern) groups(content []byte, f found) []int {
	for _, lo := range []int{max(f.lo, f.start-1), f.start} {
		hi := min(f.hi, f.end+1)
		for _, l := range p.re.FindAllSubmatchIndex(content[lo:hi], 2) {
			if lo+l[0] == f.start && lo+l[1] == f.end {
				for i := range l {
					if l[i] >= 0 {
						l[i] += lo
					}
				}
				return l
			}
		}
	}
	return []int{f.start, f.end}
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
