package report

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/auditor-dev/auditor/rules"
)

//go:embed report.html.tmpl
var templates embed.FS

// CSP is the report's Content-Security-Policy: nothing is loaded or run,
// and the only style that applies is the page's own style element, by its
// hash (no 'unsafe-inline': a style attribute or element that came from
// anywhere else is ignored).
var CSP = "default-src 'none'; style-src '" + styleHash() + "'; img-src data:; base-uri 'none'; form-action 'none'"

// styleHash is the CSP source of the template's style element: sha256- and
// the base64 of the SHA-256 of its text (static: the element holds no
// template action).
func styleHash() string {
	b, err := templates.ReadFile("report.html.tmpl")
	if err != nil {
		panic(err)
	}
	_, rest, ok1 := strings.Cut(string(b), "<style>")
	css, _, ok2 := strings.Cut(rest, "</style>")
	if !ok1 || !ok2 || strings.Contains(css, "{{") {
		panic("report.html.tmpl: no static style element")
	}
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// HTMLOptions are the parts of an HTML report that are not data.
type HTMLOptions struct {
	// JSON and CSV name the full data's files beside the HTML (relative
	// links); empty when there are none.
	JSON, CSV string
}

var page = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"v":        Visible,
	"plain":    Plain,
	"trunc":    truncate,
	"bytes":    HumanBytes,
	"short":    shortDigest,
	"pct":      pct,
	"sev":      func(s rules.Severity) string { return s.String() },
	"count":    func(m map[string]int, k string) int { return m[k] },
	"sevs":     func() []string { return severityNames },
	"time":     showTime,
	"duration": duration,
	"fp":       func(s string) string { return s[:min(12, len(s))] },
	"add":      func(a, b int) int { return a + b },
	"maxSize":  maxLayerSize,
	"chart":    trendChart,
	"upper":    strings.ToUpper,
	"plural": func(n any, one, many string) string {
		if fmt.Sprint(n) == "1" {
			return one
		}
		return many
	},
}).ParseFS(templates, "report.html.tmpl"))

// severityNames, most severe first.
var severityNames = []string{"critical", "high", "medium", "low", "info"}

// HTML writes d as one self-contained HTML page: no script, no external
// resource, a strict Content-Security-Policy.
func HTML(w io.Writer, d *Data, o HTMLOptions) error {
	err := page.Execute(w, struct {
		*Data
		CSP string
		HTMLOptions
	}{d, CSP, o})
	if err != nil {
		return fmt.Errorf("rendering the HTML report: %w", err)
	}
	return nil
}

// HumanBytes is n in B, KiB, MiB...
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[i+1 : i+13]
	}
	return d
}

// pct is n as a percentage of max, at least 0.5 for a non-zero n so that
// a bar stays visible.
func pct(n, max int64) string {
	if max <= 0 || n <= 0 {
		return "0"
	}
	p := 100 * float64(n) / float64(max)
	if p < 0.5 {
		p = 0.5
	}
	return fmt.Sprintf("%.1f", p)
}

func maxLayerSize(ls []Layer) int64 {
	var m int64
	for _, l := range ls {
		m = max(m, l.UncompressedSize, l.Size)
	}
	return m
}

// showTime shows a recorded time (RFC 3339) in UTC to the second.
func showTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func duration(from, to string) string {
	a, err1 := time.Parse(time.RFC3339Nano, from)
	b, err2 := time.Parse(time.RFC3339Nano, to)
	if err1 != nil || err2 != nil {
		return ""
	}
	return b.Sub(a).Round(time.Second).String()
}

// NewGroup is the new findings of one severity, by image.
type NewGroup struct {
	Severity string
	Count    int // all new findings of the severity, listed or not
	Images   []NewImage
}

// NewImage is the new findings of one severity in one image.
type NewImage struct {
	Digest, Name string
	Findings     []Finding
	More         int // of the severity in the image, not listed
}

// NewGroups groups the new findings listed (in ReadFindings' order:
// severity, then image) by severity, then image.
func (d *Data) NewGroups() []NewGroup {
	var out []NewGroup
	for _, f := range d.New {
		s := f.Severity.String()
		if len(out) == 0 || out[len(out)-1].Severity != s {
			out = append(out, NewGroup{Severity: s, Count: d.newBySeverity[s]})
		}
		g := &out[len(out)-1]
		if len(g.Images) == 0 || g.Images[len(g.Images)-1].Digest != f.ImageDigest {
			g.Images = append(g.Images, NewImage{Digest: f.ImageDigest, Name: imageName(&f.Finding), More: d.newLeft[s+"\x00"+f.ImageDigest]})
		}
		im := &g.Images[len(g.Images)-1]
		im.Findings = append(im.Findings, f)
	}
	return out
}

// PerImage is how many findings an image lists at most, and how many new
// findings of one severity the new findings table lists per image.
func (d *Data) PerImage() int { return d.perImage }
