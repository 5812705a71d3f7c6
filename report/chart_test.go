package report

import (
	"strings"
	"testing"
)

// TestTrendChartGaps: a scan whose rules did not run has no point on the
// findings lines (a gap, not a fall to zero) and every scan that did not
// finish cleanly is marked; the images line keeps every scan.
func TestTrendChartGaps(t *testing.T) {
	scans := []Scan{
		{ID: 1, Status: "ok", RulesRan: true, Findings: 40, New: 40, Images: 9},
		{ID: 2, Status: "failed", Images: 1},
		{ID: 3, Status: "errors", Errors: 2, RulesRan: true, Findings: 38, New: 1, Resolved: 3, Images: 8},
		{ID: 4, Status: "ok", RulesRan: true, Findings: 38, Images: 9},
		{ID: 5, Status: "interrupted", Images: 3},
	}
	c := trendChart(scans)
	if len(c.Lines) != 4 {
		t.Fatalf("%d lines, want findings, new, resolved, images", len(c.Lines))
	}
	for _, l := range c.Lines[:3] {
		if len(l.Dots) != 3 || strings.Count(l.Path, "M") != 2 || strings.Count(l.Path, "L") != 1 || l.Last != "rules not run" {
			t.Errorf("%s: %d points, path %q, last %q: want scans 1, 3 and 4 only, a gap at scan 2, and no value now", l.Name, len(l.Dots), l.Path, l.Last)
		}
		for _, d := range l.Dots {
			if d.Y >= c.Bottom && l.Name == "findings" {
				t.Errorf("findings: a point at zero (%s)", d.Title)
			}
		}
	}
	if im := c.Lines[3]; len(im.Dots) != 5 || strings.Count(im.Path, "M") != 1 || im.Last != "3 now" {
		t.Errorf("images: %d points, path %q, last %q: want every scan", len(im.Dots), im.Path, im.Last)
	}
	var marked []string
	for _, m := range c.Marks {
		marked = append(marked, m.Title)
	}
	want := "scan 2: failed, rules not run: no findings counted|scan 3: partial (2 errors)|scan 5: interrupted, rules not run: no findings counted"
	if strings.Join(marked, "|") != want {
		t.Errorf("marks %q, want %q", marked, want)
	}
}
