package report

import (
	"fmt"
	"math"
	"strings"
)

// Chart is the trend chart, laid out for an inline SVG: lines of counts
// (open findings, new, resolved, images) on the left axis and bars of the
// bytes each scan read on the right one. A scan that did not finish
// cleanly is marked by a band; one whose rules did not run has no point on
// the findings lines (a gap, never a fall to zero that reads as a clean
// fleet).
type Chart struct {
	W, H           int
	Left, Right    float64 // plot area
	Top, Bottom    float64
	Lines          []Line
	Bars           []Bar
	Marks          []Bar // bands over the scans that failed, were interrupted, had errors or no rules run
	YTicks, XTicks []Tick
	BytesMax       string
}

// Line is one series.
type Line struct {
	Name, Class string
	Path        string // SVG path data: M at the first point and after each gap, L between
	Dots        []Point
	Last        string // the last scan's value, or why it has none
}

// Point is a point of a series, with its value.
type Point struct {
	X, Y  float64
	Title string
}

// Bar is one scan's bytes read.
type Bar struct {
	X, Y, W, H float64
	Title      string
}

// Tick is an axis label.
type Tick struct {
	Pos   float64
	Label string
}

func trendChart(scans []Scan) Chart {
	c := Chart{W: 860, H: 240, Left: 48, Right: 860 - 72, Top: 14, Bottom: 240 - 30}
	n := len(scans)
	if n == 0 {
		return c
	}
	step := (c.Right - c.Left) / float64(max(n, 1))
	x := func(i int) float64 { return c.Left + step*(float64(i)+0.5) }
	series := []struct {
		name, class string
		val         func(*Scan) int64
		rules       bool // a count of the scan's rules run: none when they did not run
	}{
		{"findings", "s-open", func(s *Scan) int64 { return s.Findings }, true},
		{"new", "s-new", func(s *Scan) int64 { return s.New }, true},
		{"resolved", "s-resolved", func(s *Scan) int64 { return s.Resolved }, true},
		{"images", "s-images", func(s *Scan) int64 { return s.Images }, false},
	}
	var top, bytesTop int64
	for i := range scans {
		for _, s := range series {
			top = max(top, s.val(&scans[i]))
		}
		bytesTop = max(bytesTop, scans[i].BytesRead)
	}
	yMax := niceCeil(top)
	y := func(v int64) float64 { return c.Bottom - (c.Bottom-c.Top)*float64(v)/float64(yMax) }
	for k := 0; k <= 4; k++ {
		v := yMax * int64(k) / 4
		c.YTicks = append(c.YTicks, Tick{y(v), fmt.Sprint(v)})
	}
	if bytesTop > 0 {
		c.BytesMax = HumanBytes(bytesTop)
		for i := range scans {
			h := (c.Bottom - c.Top) * float64(scans[i].BytesRead) / float64(bytesTop)
			w := min(step*0.7, 28)
			c.Bars = append(c.Bars, Bar{X: x(i) - w/2, Y: c.Bottom - h, W: w, H: h,
				Title: fmt.Sprintf("scan %d: %s read", scans[i].ID, HumanBytes(scans[i].BytesRead))})
		}
	}
	for i := range scans {
		if !scans[i].Clean() {
			c.Marks = append(c.Marks, Bar{X: x(i) - step/2, Y: c.Top, W: step, H: c.Bottom - c.Top,
				Title: fmt.Sprintf("scan %d: %s", scans[i].ID, notClean(&scans[i]))})
		}
	}
	for _, s := range series {
		l := Line{Name: s.name, Class: s.class}
		var path []string
		gap := true
		for i := range scans {
			if s.rules && !scans[i].RulesRan {
				gap = true
				continue
			}
			v := s.val(&scans[i])
			cmd := "L"
			if gap {
				cmd, gap = "M", false
			}
			path = append(path, fmt.Sprintf("%s%.1f,%.1f", cmd, x(i), y(v)))
			l.Dots = append(l.Dots, Point{x(i), y(v), fmt.Sprintf("scan %d: %d %s", scans[i].ID, v, s.name)})
		}
		l.Path = strings.Join(path, " ")
		if last := &scans[n-1]; s.rules && !last.RulesRan {
			l.Last = "rules not run"
		} else {
			l.Last = fmt.Sprintf("%d now", s.val(last))
		}
		c.Lines = append(c.Lines, l)
	}
	every := max(1, (n+9)/10)
	for i := range scans {
		if i%every == 0 || i == n-1 {
			c.XTicks = append(c.XTicks, Tick{x(i), fmt.Sprint(scans[i].ID)})
		}
	}
	return c
}

// notClean says why a scan is not one to take at its word.
func notClean(s *Scan) string {
	why := s.Status
	switch s.Status {
	case "errors":
		why = fmt.Sprintf("partial (%d errors)", s.Errors)
	case "ok":
		why = "finished"
	}
	if !s.RulesRan {
		why += ", rules not run: no findings counted"
	}
	return why
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, at least 4 so
// that four ticks are whole numbers.
func niceCeil(v int64) int64 {
	if v <= 4 {
		return 4
	}
	p := math.Pow(10, math.Floor(math.Log10(float64(v))))
	for _, m := range []float64{1, 1.2, 1.6, 2, 4, 6, 8, 10} {
		if c := int64(m * p); c >= v && c%4 == 0 {
			return c
		}
	}
	return int64(10 * p)
}
