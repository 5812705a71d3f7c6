// Package report builds the report people read after a scan: what the scan
// did, the findings by state and severity, a trend over the last scans, and
// for the images with findings their layers, history and evidence. Load
// reads it from the index's public views (read-only); HTML renders it as one
// self-contained file, WriteData the full data as JSON and CSV beside it.
//
// Every string in a report comes from an image or a registry and is
// treated as hostile: the HTML escapes it and shows control and bidi
// characters as visible escapes (see Visible).
package report

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/auditor-dev/auditor/queries"
	"github.com/auditor-dev/auditor/rules"
)

// DefaultTop is how many images with findings a report details when
// Options.Top is 0. Images with new findings are detailed beyond it, up to
// DefaultMaxDetailed in all.
const DefaultTop = 25

// The other caps of a report for big fleets (Options' zero values): every
// list of the page is bounded, and says how much it leaves out and that the
// full data is in the JSON and CSV beside it.
const (
	// DefaultMaxDetailed bounds the images detailed, new ones included
	// (the first night of a fleet has every finding new).
	DefaultMaxDetailed = 40
	// DefaultMaxNew bounds the rows of the new findings table.
	DefaultMaxNew = 200
	// DefaultMaxListed is the budget of findings listed under the images
	// detailed when Options.MaxImageFindings is 0: each image lists it
	// shared out, at least MinImageFindings and at most MaxImageFindings
	// (a few images with findings list them all; 40 list 10 each).
	DefaultMaxListed = 400
	// MinImageFindings and MaxImageFindings bound that share.
	MinImageFindings, MaxImageFindings = 10, 50
	// DefaultMaxTopImages bounds the rows of the top images table.
	DefaultMaxTopImages = 50
)

// TrendScans is how many scans the trend chart covers.
const TrendScans = 30

// States of a finding in a report, the order of its cards.
var States = []string{"new", "open", "resolved", "suppressed"}

// ErrNoScan: the index has no scan to report on (or not the one asked for).
var ErrNoScan = errors.New("no such scan")

// Options select what Load reads.
type Options struct {
	// ScanID is the scan reported on; 0 means the latest.
	ScanID int64
	// Since, when set, widens the report to every scan started at or after
	// it, up to ScanID (or the latest): new and resolved count over them.
	Since time.Time
	// Top bounds the images detailed (DefaultTop when 0); images with new
	// findings are detailed too, up to MaxDetailed in all.
	Top int
	// MaxDetailed, MaxNew, MaxImageFindings and MaxTopImages bound the
	// images detailed, the new findings table (also MaxImageFindings of a
	// severity per image), each image's findings and the top images table;
	// 0 means the Default of each (for MaxImageFindings, DefaultMaxListed
	// shared out: see there).
	MaxDetailed, MaxNew, MaxImageFindings, MaxTopImages int
	// Now stamps the report; nil means time.Now.
	Now func() time.Time
	// Version is the auditor version that made the report.
	Version string
}

// Scan is one row of the scans view, with its rules run when there was one.
type Scan struct {
	ID                   int64
	Started, Finished    string
	Status               string
	Targets              string
	Repositories, Tags   int64
	Images, LayersRead   int64
	LayersSkipped, Files int64
	BytesRead, Errors    int64
	RulesRan             bool
	Findings, New        int64 // the rules run's open and new findings
	Resolved             int64
}

// Clean reports whether the scan is one a reader may take at its word: it
// finished without errors and its rules ran.
func (s *Scan) Clean() bool { return s.Status == "ok" && s.RulesRan }

// ScanError is one row of scan_errors.
type ScanError struct {
	ScanID                                 int64
	Registry, Repository, Reference, Layer string
	Message                                string
}

// Card counts the findings in one state.
type Card struct {
	State      string
	Findings   int            // fingerprints
	Unique     int            // distinct rule, path and detail: one problem shared by many images counts once
	Images     int            // images affected
	BySeverity map[string]int // findings per severity name
}

// RuleCount is how many unresolved findings one rule has.
type RuleCount struct {
	RuleID, Title, Severity string
	New, Open, Suppressed   int
	Images                  int
}

// ImageCount is an image and its unresolved findings.
type ImageCount struct {
	Digest, Name string
	New, Open    int
	Worst        string // the most severe of its findings
	Detailed     bool   // the page details it (an anchor #img-DIGEST)
}

// Layer is one layer of a detailed image.
type Layer struct {
	Position         int64
	Digest           string
	MediaType        string
	Size             int64 // compressed, as stored
	UncompressedSize int64
	Entries          int64
	HiddenBytes      int64 // regular-file bytes later layers delete or overwrite
	HiddenFiles      int64
	CreatedBy        string // the history step that made it
	Comment          string
}

// Evidence is what shows a finding: where it is and what matched.
type Evidence struct {
	LayerPosition int64 // -1 when the finding names no layer of the image
	CreatedBy     string
	Excerpts      []string // redacted content matches at the path
	Package       string   // the package that owns the path, when known
	Listed        bool     // the page lists it under its image (an anchor #f-FINGERPRINT)
}

// Finding is a finding with its state in the report and its evidence.
type Finding struct {
	rules.Finding
	Evidence
}

// Image is one detailed image.
type Image struct {
	Digest       string
	Registry     string
	Repositories []string
	Tags         []string
	Platform     string
	OS           string // the distribution, when the index knows it
	Created      string
	User         string
	Entrypoint   string
	Cmd          string
	Layers       []Layer
	Findings     []Finding // up to the cap (Data.PerImage): new, open, suppressed, resolved, each by severity
	New, Open    int
	// More counts the image's findings left out of Findings, by state.
	More Left
}

// Left counts what a capped list leaves out, by state.
type Left struct {
	Total                           int
	New, Open, Resolved, Suppressed int
}

func (l *Left) add(state string) {
	l.Total++
	switch state {
	case "new":
		l.New++
	case "open":
		l.Open++
	case "resolved":
		l.Resolved++
	case "suppressed":
		l.Suppressed++
	}
}

// Data is everything a report shows.
type Data struct {
	Generated  time.Time
	Version    string
	Scan       Scan   // the scan reported on (the last of the window)
	Window     []Scan // with Since: every scan of the window, oldest first
	Errors     []ScanError
	ErrorCount int64
	Cards      []Card
	Trend      []Scan       // up to TrendScans scans up to Scan, oldest first
	New        []Finding    // the new findings, the first Options.MaxNew of them
	NewTotal   int          // all new findings
	TopImages  []ImageCount // images by unresolved findings, the first Options.MaxTopImages
	Rules      []RuleCount
	Images     []Image // the detailed images
	// ImagesAffected is how many images have unresolved findings;
	// ImagesIndexed how many the index holds.
	ImagesAffected, ImagesIndexed int
	// Findings are all findings of the report (every state), for the JSON
	// and CSV beside the HTML and for the other formats.
	Findings []Finding
	// HasOS and HasPackages say whether the index records distributions
	// and file owners; their columns are left out when it does not.
	HasOS, HasPackages bool

	top []ImageCount // every image with unresolved findings, TopImages uncapped
	// newBySeverity counts all new findings per severity, newLeft those
	// New leaves out per severity and image; perImage is the cap of an
	// image's findings listed, and of New's per severity and image.
	newBySeverity, newLeft map[string]int
	perImage               int
}

// Load reads the report for o from db, the index's read-only pool.
func Load(ctx context.Context, db queries.Querier, o Options) (*Data, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	o.defaults()
	d := &Data{Generated: now().UTC(), Version: o.Version}
	var err error
	if d.Scan, err = readScan(ctx, db, o.ScanID); err != nil {
		return nil, err
	}
	from := d.Scan.ID
	if !o.Since.IsZero() {
		if d.Window, err = readScans(ctx, db, `WHERE s.started >= ? AND s.id <= ? ORDER BY s.id`, o.Since.UTC().Format(time.RFC3339Nano), d.Scan.ID); err != nil {
			return nil, err
		}
		if len(d.Window) == 0 {
			return nil, fmt.Errorf("%w: none started since %s up to scan %d", ErrNoScan, o.Since.UTC().Format(time.RFC3339), d.Scan.ID)
		}
		from = d.Window[0].ID
	}
	if d.Errors, d.ErrorCount, err = readErrors(ctx, db, from, d.Scan.ID); err != nil {
		return nil, err
	}
	trend, err := readScans(ctx, db, `WHERE s.id <= ? ORDER BY s.id DESC LIMIT ?`, d.Scan.ID, TrendScans)
	if err != nil {
		return nil, err
	}
	for i := len(trend) - 1; i >= 0; i-- {
		d.Trend = append(d.Trend, trend[i])
	}
	if err := queries.QueryRow(ctx, db, `SELECT count(DISTINCT digest) FROM images`).Scan(&d.ImagesIndexed); err != nil {
		return nil, fmt.Errorf("counting images: %w", err)
	}
	if err := loadFindings(ctx, db, d, from); err != nil {
		return nil, err
	}
	if err := loadImages(ctx, db, d, o); err != nil {
		return nil, err
	}
	d.cap(o)
	return d, nil
}

// defaults fills o's zero caps.
func (o *Options) defaults() {
	for _, c := range []struct {
		v   *int
		def int
	}{{&o.Top, DefaultTop}, {&o.MaxDetailed, DefaultMaxDetailed}, {&o.MaxNew, DefaultMaxNew},
		{&o.MaxTopImages, DefaultMaxTopImages}} {
		if *c.v <= 0 {
			*c.v = c.def
		}
	}
	o.MaxDetailed = max(o.MaxDetailed, o.Top)
}

// cap bounds the new findings and top images tables, once the images are
// detailed (which reads the whole lists), and marks what they link to.
func (d *Data) cap(o Options) {
	detailed := map[string]bool{}
	for _, im := range d.Images {
		detailed[im.Digest] = true
	}
	for i := range d.TopImages {
		d.TopImages[i].Detailed = detailed[d.TopImages[i].Digest]
	}
	// New findings: at most d.PerImage of each severity per image
	// (so that one image does not fill the table), o.MaxNew in all.
	d.NewTotal = len(d.New)
	d.newBySeverity, d.newLeft = map[string]int{}, map[string]int{}
	seen := map[string]int{}
	var kept []Finding
	for _, f := range d.New {
		sev := f.Severity.String()
		k := sev + "\x00" + f.ImageDigest
		seen[k]++
		d.newBySeverity[sev]++
		if seen[k] > d.perImage || len(kept) == o.MaxNew {
			d.newLeft[k]++
			continue
		}
		kept = append(kept, f)
	}
	d.New = kept
	d.top = d.TopImages
	d.TopImages = d.TopImages[:min(len(d.TopImages), o.MaxTopImages)]
}

// Detailed reports whether the page details the image digest.
func (d *Data) Detailed(digest string) bool {
	for i := range d.Images {
		if d.Images[i].Digest == digest {
			return true
		}
	}
	return false
}

// NewImagesLeft is how many images with new findings the page does not
// detail (beyond Options.MaxDetailed).
func (d *Data) NewImagesLeft() int {
	n := 0
	for _, ic := range d.top {
		if ic.New > 0 && !d.Detailed(ic.Digest) {
			n++
		}
	}
	return n
}

// NewLeft is how many new findings the new findings table leaves out.
func (d *Data) NewLeft() int { return d.NewTotal - len(d.New) }

// TopImagesLeft is how many images with findings the top images table
// leaves out.
func (d *Data) TopImagesLeft() int { return d.ImagesAffected - len(d.TopImages) }

const scanColumns = `s.id, s.started, COALESCE(s.finished, ''), s.status, COALESCE(s.targets, ''),
	COALESCE(s.repositories, 0), COALESCE(s.tags, 0), COALESCE(s.images, 0), COALESCE(s.layers_read, 0),
	COALESCE(s.layers_skipped, 0), COALESCE(s.files, 0), COALESCE(s.bytes_read, 0), COALESCE(s.errors, 0),
	r.scan_id IS NOT NULL, COALESCE(r.findings, 0), COALESCE(r.new, 0), COALESCE(r.resolved, 0)
	FROM scans s LEFT JOIN rule_runs r ON r.scan_id = s.id `

func readScans(ctx context.Context, db queries.Querier, where string, args ...any) ([]Scan, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+scanColumns+where, args...)
	if err != nil {
		return nil, fmt.Errorf("reading scans: %w", err)
	}
	defer rows.Close()
	var out []Scan
	for rows.Next() {
		var s Scan
		if err := rows.Scan(&s.ID, &s.Started, &s.Finished, &s.Status, &s.Targets, &s.Repositories, &s.Tags, &s.Images,
			&s.LayersRead, &s.LayersSkipped, &s.Files, &s.BytesRead, &s.Errors, &s.RulesRan, &s.Findings, &s.New, &s.Resolved); err != nil {
			return nil, fmt.Errorf("reading scans: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading scans: %w", err)
	}
	return out, nil
}

// readScan reads scan id, or the latest scan when id is 0.
func readScan(ctx context.Context, db queries.Querier, id int64) (Scan, error) {
	where, args := `WHERE s.id = ?`, []any{id}
	if id == 0 {
		where, args = `ORDER BY s.id DESC LIMIT 1`, nil
	}
	ss, err := readScans(ctx, db, where, args...)
	if err != nil {
		return Scan{}, err
	}
	if len(ss) == 0 {
		if id == 0 {
			return Scan{}, fmt.Errorf("%w: the index has no scan yet", ErrNoScan)
		}
		return Scan{}, fmt.Errorf("%w: %d", ErrNoScan, id)
	}
	return ss[0], nil
}

// maxErrors bounds the scan errors a report lists; the count is complete.
const maxErrors = 50

func readErrors(ctx context.Context, db queries.Querier, from, to int64) ([]ScanError, int64, error) {
	var n int64
	if err := queries.QueryRow(ctx, db, `SELECT count(*) FROM scan_errors WHERE scan_id BETWEEN ? AND ?`, from, to).Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("reading scan errors: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT scan_id, COALESCE(registry, ''), COALESCE(repository, ''), COALESCE(reference, ''),
		COALESCE(layer_digest, ''), message FROM scan_errors WHERE scan_id BETWEEN ? AND ? ORDER BY scan_id, id LIMIT ?`, from, to, maxErrors)
	if err != nil {
		return nil, 0, fmt.Errorf("reading scan errors: %w", err)
	}
	defer rows.Close()
	var out []ScanError
	for rows.Next() {
		var e ScanError
		if err := rows.Scan(&e.ScanID, &e.Registry, &e.Repository, &e.Reference, &e.Layer, &e.Message); err != nil {
			return nil, 0, fmt.Errorf("reading scan errors: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading scan errors: %w", err)
	}
	return out, n, nil
}

// stateAt is a finding's state for a report of the scans from..to.
// Suppressed findings not resolved are "suppressed"; "" means the finding
// is not part of the report (resolved before from, or first seen after to).
//
// For the latest rules run the findings view's state is exact. For an
// older window it is rebuilt from first_seen, last_seen and resolved_in: a
// finding that came back after being resolved counts as open in between.
func stateAt(f *rules.Finding, from, to int64, latest bool) string {
	switch {
	case f.FirstSeen > to:
		return ""
	case f.ResolvedIn != 0 && f.ResolvedIn <= to:
		if f.ResolvedIn >= from {
			return "resolved"
		}
		return ""
	case f.Suppressed != "":
		return "suppressed"
	case latest && f.State == "new", f.FirstSeen >= from:
		return "new"
	}
	return "open"
}

func loadFindings(ctx context.Context, db queries.Querier, d *Data, from int64) error {
	all, err := rules.ReadFindings(ctx, db, rules.Filter{Suppressed: true})
	if err != nil {
		return err
	}
	var latestRun int64
	if err := queries.QueryRow(ctx, db, `SELECT COALESCE(MAX(scan_id), 0) FROM rule_runs`).Scan(&latestRun); err != nil {
		return fmt.Errorf("reading rule runs: %w", err)
	}
	latest := d.Scan.ID >= latestRun
	type counter struct {
		unique map[string]bool
		images map[string]bool
	}
	cards := map[string]*Card{}
	cnt := map[string]*counter{}
	for _, s := range States {
		cards[s] = &Card{State: s, BySeverity: map[string]int{}}
		cnt[s] = &counter{map[string]bool{}, map[string]bool{}}
	}
	ruleCounts := map[string]*RuleCount{}
	ruleImages := map[string]map[string]bool{}
	imageCounts := map[string]*ImageCount{}
	for i := range all {
		f := all[i]
		st := stateAt(&f, from, d.Scan.ID, latest)
		if st == "" {
			continue
		}
		f.State = st
		d.Findings = append(d.Findings, Finding{Finding: f})
		c, k := cards[st], cnt[st]
		c.Findings++
		c.BySeverity[f.Severity.String()]++
		k.unique[f.RuleID+"\x00"+f.Path+"\x00"+f.Detail] = true
		k.images[f.ImageDigest] = true
		if st == "resolved" {
			continue
		}
		rc := ruleCounts[f.RuleID]
		if rc == nil {
			rc = &RuleCount{RuleID: f.RuleID, Title: f.Title, Severity: f.Severity.String()}
			ruleCounts[f.RuleID], ruleImages[f.RuleID] = rc, map[string]bool{}
		}
		ruleImages[f.RuleID][f.ImageDigest] = true
		ic := imageCounts[f.ImageDigest]
		if ic == nil {
			ic = &ImageCount{Digest: f.ImageDigest, Name: imageName(&f), Worst: f.Severity.String()} // most severe first
			imageCounts[f.ImageDigest] = ic
		}
		switch st {
		case "new":
			rc.New++
			ic.New++
		case "open":
			rc.Open++
			ic.Open++
		case "suppressed":
			rc.Suppressed++
		}
	}
	for _, s := range States {
		c := cards[s]
		c.Unique, c.Images = len(cnt[s].unique), len(cnt[s].images)
		d.Cards = append(d.Cards, *c)
	}
	for id, rc := range ruleCounts {
		rc.Images = len(ruleImages[id])
		d.Rules = append(d.Rules, *rc)
	}
	sort.Slice(d.Rules, func(i, j int) bool {
		a, b := d.Rules[i], d.Rules[j]
		if sa, sb := severityRank(a.Severity), severityRank(b.Severity); sa != sb {
			return sa > sb
		}
		if a.New+a.Open != b.New+b.Open {
			return a.New+a.Open > b.New+b.Open
		}
		return a.RuleID < b.RuleID
	})
	for _, ic := range imageCounts {
		if ic.New+ic.Open > 0 { // images whose findings are all suppressed are left out
			d.TopImages = append(d.TopImages, *ic)
		}
	}
	d.ImagesAffected = len(d.TopImages)
	// The worst first, then the most findings: on a big night, an image
	// with one critical finding is detailed before a thousand with forty
	// high ones.
	sort.Slice(d.TopImages, func(i, j int) bool {
		a, b := d.TopImages[i], d.TopImages[j]
		if sa, sb := severityRank(a.Worst), severityRank(b.Worst); sa != sb {
			return sa > sb
		}
		if a.New+a.Open != b.New+b.Open {
			return a.New+a.Open > b.New+b.Open
		}
		return a.Name < b.Name
	})
	for _, f := range d.Findings {
		if f.State == "new" {
			f.LayerPosition = -1     // until evidence says
			d.New = append(d.New, f) // ReadFindings' order: severity, then image
		}
	}
	return nil
}

func severityRank(s string) int {
	v, err := rules.ParseSeverity(s)
	if err != nil {
		return -1
	}
	return int(v)
}

// imageName is what a report calls an image: its current tags, else its
// repositories, else its digest.
func imageName(f *rules.Finding) string {
	switch {
	case f.Tags != "":
		return f.Tags
	case f.Repository != "":
		return f.Repository + "@" + f.ImageDigest
	}
	return f.ImageDigest
}

// detailed picks the images a report details: the top images by
// unresolved findings, plus the images with new findings, at most
// maxDetailed in all (the top first, then new ones by their count).
func detailed(d *Data, top, maxDetailed int) []ImageCount {
	var out []ImageCount
	for i, ic := range d.TopImages {
		if len(out) == maxDetailed {
			break
		}
		if i < top || ic.New > 0 {
			out = append(out, ic)
		}
	}
	return out
}

// Capped reports whether the report details fewer images than have findings.
func (d *Data) Capped() bool { return len(d.Images) < d.ImagesAffected }

// Count is the number of findings in state.
func (d *Data) Count(state string) int {
	for _, c := range d.Cards {
		if c.State == state {
			return c.Findings
		}
	}
	return 0
}

// AllClear reports whether the report may say the fleet is clean: the scan
// finished without errors, its rules ran, and no finding is new or open.
func (d *Data) AllClear() bool {
	return d.Scan.Clean() && d.Count("new") == 0 && d.Count("open") == 0
}

// ErrorsCut reports whether the report lists fewer scan errors than there are.
func (d *Data) ErrorsCut() bool { return int64(len(d.Errors)) < d.ErrorCount }

// joinNonEmpty joins the non-empty strings of ss with sep.
func joinNonEmpty(sep string, ss ...string) string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}
