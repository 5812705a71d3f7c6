package rules

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/auditor-dev/auditor/internal/safetext"
)

// Formats are the report formats Write knows.
var Formats = []string{"table", "json", "csv", "sarif"}

// Filter selects findings to read back.
type Filter struct {
	States      []string // new, open, resolved; empty means all
	MinSeverity Severity
	Suppressed  bool // include suppressed findings
}

// ReadFindings reads findings from the findings view, most severe first,
// then by image (repository), rule and path.
func ReadFindings(ctx context.Context, q Querier, f Filter) ([]Finding, error) {
	tags, err := findingTags(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT fingerprint, rule_id, severity, title, image_digest,
		COALESCE(registry, ''), COALESCE(repository, ''), COALESCE(layer_digest, ''), COALESCE(path, ''),
		detail, first_seen, last_seen, state, COALESCE(suppressed_reason, ''), COALESCE(suppressed_until, ''), COALESCE(resolved_in, 0)
		FROM findings`)
	if err != nil {
		return nil, fmt.Errorf("reading findings: %w", err)
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var x Finding
		var sev string
		if err := rows.Scan(&x.Fingerprint, &x.RuleID, &sev, &x.Title, &x.ImageDigest, &x.Registry, &x.Repository,
			&x.LayerDigest, &x.Path, &x.Detail, &x.FirstSeen, &x.LastSeen, &x.State, &x.Suppressed, &x.SuppressedUntil, &x.ResolvedIn); err != nil {
			return nil, fmt.Errorf("reading findings: %w", err)
		}
		x.Tags = tags[x.ImageDigest]
		if x.Severity, err = ParseSeverity(sev); err != nil {
			return nil, fmt.Errorf("finding %s: %w", x.Fingerprint, err)
		}
		if x.Severity < f.MinSeverity || (x.Suppressed != "" && !f.Suppressed) {
			continue
		}
		if len(f.States) > 0 && !contains(f.States, x.State) {
			continue
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading findings: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Repository != b.Repository {
			return a.Repository < b.Repository
		}
		if a.ImageDigest != b.ImageDigest {
			return a.ImageDigest < b.ImageDigest
		}
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Fingerprint < b.Fingerprint // one path in several layers: a stable order all the same
	})
	return out, nil
}

// findingTags maps the image digest of findings to the findings view's
// tags column. The column depends on the image only and costs a pass over
// the tag history each time, so it is read for one finding per image.
func findingTags(ctx context.Context, q Querier) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT image_digest, COALESCE(tags, '') FROM findings
		WHERE fingerprint IN (SELECT MIN(fingerprint) FROM findings GROUP BY image_digest)`)
	if err != nil {
		return nil, fmt.Errorf("reading findings' tags: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var d, t string
		if err := rows.Scan(&d, &t); err != nil {
			return nil, fmt.Errorf("reading findings' tags: %w", err)
		}
		out[d] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading findings' tags: %w", err)
	}
	return out, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Report is what Write renders.
type Report struct {
	ScanID   int64
	Title    string // e.g. "new findings"
	Findings []Finding
	Rules    []Rule // the rules that ran (SARIF lists them)
	Version  string // auditor version
}

// Write renders r in format (table, json, csv or sarif).
func Write(w io.Writer, format string, r *Report) error {
	switch format {
	case "table", "":
		return writeTable(w, r)
	case "json":
		return writeJSON(w, r)
	case "csv":
		return writeCSV(w, r)
	case "sarif":
		return writeSARIF(w, r)
	}
	return fmt.Errorf("unknown report format %q (want %s)", format, strings.Join(Formats, ", "))
}

func imageName(f *Finding) string {
	switch {
	case f.Tags != "":
		return f.Tags
	case f.Repository != "":
		return f.Repository
	}
	return f.ImageDigest
}

func short(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

func writeTable(w io.Writer, r *Report) error {
	title := r.Title
	if title == "" {
		title = "findings"
	}
	if len(r.Findings) == 0 {
		_, err := fmt.Fprintf(w, "%s (scan %d): none\n", title, r.ScanID)
		return err
	}
	suppressed := 0
	for i := range r.Findings {
		if r.Findings[i].Suppressed != "" {
			suppressed++
		}
	}
	if suppressed > 0 {
		fmt.Fprintf(w, "%s (scan %d): %d, of which %d suppressed\n", title, r.ScanID, len(r.Findings), suppressed)
	} else {
		fmt.Fprintf(w, "%s (scan %d): %d\n", title, r.ScanID, len(r.Findings))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var sev Severity = -1
	img := ""
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Severity != sev {
			n := 0
			for j := i; j < len(r.Findings) && r.Findings[j].Severity == f.Severity; j++ {
				n++
			}
			tw.Flush()
			fmt.Fprintf(w, "\n%s (%d)\n", strings.ToUpper(f.Severity.String()), n)
			sev, img = f.Severity, ""
		}
		if f.ImageDigest != img {
			tw.Flush()
			fmt.Fprintf(w, "  %s  %s\n", safetext.Escape(imageName(f)), safetext.Escape(short(f.ImageDigest)))
			img = f.ImageDigest
		}
		where := f.Path
		if where == "" {
			where = "(image)"
		}
		layer := ""
		if f.LayerDigest != "" {
			layer = "layer " + safetext.Escape(short(f.LayerDigest))
		}
		extra := ""
		if f.Suppressed != "" {
			extra = "  [suppressed: " + safetext.Escape(f.Suppressed) + "]"
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s%s\n", safetext.Cut(f.RuleID, 80), safetext.Cut(where, 80), layer, safetext.Cut(f.Detail, 100), f.Fingerprint[:12], extra)
	}
	return tw.Flush()
}

type jsonFinding struct {
	Fingerprint     string   `json:"fingerprint"`
	RuleID          string   `json:"rule_id"`
	Severity        string   `json:"severity"`
	Title           string   `json:"title"`
	ImageDigest     string   `json:"image_digest"`
	Registry        string   `json:"registry,omitempty"`
	Repository      string   `json:"repository,omitempty"`
	Tags            []string `json:"tags,omitempty"`
	LayerDigest     string   `json:"layer_digest,omitempty"`
	Path            string   `json:"path,omitempty"`
	PathBase64      string   `json:"path_base64,omitempty"` // the exact bytes of a path that is not UTF-8 (safetext.Base64)
	Detail          string   `json:"detail"`
	DetailBase64    string   `json:"detail_base64,omitempty"`
	FirstSeen       int64    `json:"first_seen"`
	LastSeen        int64    `json:"last_seen"`
	State           string   `json:"state"`
	Suppressed      string   `json:"suppressed,omitempty"`
	SuppressedUntil string   `json:"suppressed_until,omitempty"`
}

func toJSON(f *Finding) jsonFinding {
	return jsonFinding{f.Fingerprint, f.RuleID, f.Severity.String(), f.Title, f.ImageDigest, f.Registry, f.Repository,
		strings.Fields(f.Tags), f.LayerDigest, f.Path, safetext.Base64(f.Path), f.Detail, safetext.Base64(f.Detail), f.FirstSeen, f.LastSeen, f.State, f.Suppressed, f.SuppressedUntil}
}

func writeJSON(w io.Writer, r *Report) error {
	out := struct {
		ScanID   int64         `json:"scan_id"`
		Findings []jsonFinding `json:"findings"`
	}{ScanID: r.ScanID, Findings: []jsonFinding{}}
	for i := range r.Findings {
		out.Findings = append(out.Findings, toJSON(&r.Findings[i]))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"fingerprint", "rule_id", "severity", "title", "image_digest", "registry", "repository", "tags",
		"layer_digest", "path", "detail", "first_seen", "last_seen", "state", "suppressed"})
	for i := range r.Findings {
		f := &r.Findings[i]
		text := []string{f.Fingerprint, f.RuleID, f.Severity.String(), f.Title, f.ImageDigest, f.Registry, f.Repository, f.Tags,
			f.LayerDigest, f.Path, f.Detail}
		for i := range text {
			text[i] = safetext.CSV(text[i]) // UTF-8, never a formula
		}
		cw.Write(append(text, strconv.FormatInt(f.FirstSeen, 10), strconv.FormatInt(f.LastSeen, 10), f.State, safetext.CSV(f.Suppressed)))
	}
	cw.Flush()
	return cw.Error()
}
