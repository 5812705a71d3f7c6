package report_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/hostileimage"
	"github.com/auditor-dev/auditor/report"
	"github.com/auditor-dev/auditor/rules"
	"github.com/auditor-dev/auditor/scanners"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// frozen is a clock that starts at a fixed time and moves a second per call,
// so every time an index records is the same on every run.
func frozen() func() time.Time {
	t := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

// hostileIndex scans the hostile image from an in-process registry, then
// its repository where a rebuild with one more finding is pushed, with the default rules and patterns,
// on a frozen clock, and returns the index (read-only) and the registry's
// host:port.
func hostileIndex(t *testing.T) (*index.DB, string) {
	t.Helper()
	host := hostileimage.Registry(t)
	ref := hostileimage.Push(t, host, "v1", hostileimage.Image(t))
	// Scan 1 sees v1; scan 2 the repository, where v2 has been pushed.
	return scanIndex(t, []string{ref, host + "/hostile/payloads"}, func(i int) {
		if i == 1 {
			hostileimage.Push(t, host, "v2", hostileimage.Next(t))
		}
	}), host
}

// scanIndex scans each of refs in turn into a new index, one scan and
// rules run each (default rules and patterns, frozen clock), calling
// before(i) first, and returns the index read-only.
func scanIndex(t *testing.T, refs []string, before func(i int)) *index.DB {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	db, err := index.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Now = frozen()
	m, err := scanners.NewMatcher(scanners.DefaultPatterns(), 0)
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.NewSet(rules.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, ref := range refs {
		if before != nil {
			before(i)
		}
		target, err := crawl.ParseTarget(ref)
		if err != nil {
			t.Fatal(err)
		}
		id, err := db.BeginScan(ctx, ref, "test")
		if err != nil {
			t.Fatal(err)
		}
		var errs []string
		cr, err := crawl.New(db, crawl.Options{Scanners: []crawl.LayerScanner{m}, OnError: func(e auditor.ScanError) { errs = append(errs, e.Message) }})
		if err != nil {
			t.Fatal(err)
		}
		if err := cr.Scan(ctx, []crawl.Target{target}); err != nil || len(errs) > 0 {
			t.Fatalf("scan: %v %q", err, errs)
		}
		st := cr.Stats()
		if err := db.FinishScan(ctx, id, index.ScanOK, auditor.ScanStats{Repositories: st.Repositories, Tags: st.Tags, Images: st.Images,
			LayersRead: st.LayersRead, LayersSkipped: st.LayersSkipped, Files: st.Files, BytesRead: st.BytesRead}); err != nil {
			t.Fatal(err)
		}
		res, err := rules.Run(ctx, db, set, rules.RunOptions{ScanID: id, Now: db.Now})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return reopen(t, db, path)
}

// reopen closes db, at path, and opens it read-only until the test ends.
func reopen(t *testing.T, db *index.DB, path string) *index.DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := index.OpenReadOnly(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	return ro
}

// hostileReport loads and renders the hostile index's report.
func hostileReport(t *testing.T) (*report.Data, []byte, string) {
	t.Helper()
	db, host := hostileIndex(t)
	// The default caps (TestCapsForBigFleets) leave this report whole: two
	// images list up to report.MaxImageFindings each.
	d, err := report.Load(context.Background(), db.Reader(), report.Options{Now: frozen(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.HTML(&buf, d, report.HTMLOptions{JSON: "report.json", CSV: "report.csv"}); err != nil {
		t.Fatal(err)
	}
	return d, buf.Bytes(), host
}

// TestHTMLGolden compares the hostile image's report with
// testdata/hostile.html (the registry's address replaced): times are
// frozen, so any change shows. go test ./report -run Golden -update
// rewrites it.
func TestHTMLGolden(t *testing.T) {
	_, page, host := hostileReport(t)
	got := bytes.ReplaceAll(page, []byte(host), []byte("REGISTRY"))
	golden := filepath.Join("testdata", "hostile.html")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the report differs from %s (run with -update if the change is meant); got:\n%s", golden, got)
	}
}

// TestHTMLHostile checks the page itself: every finding of the report is in
// it by fingerprint, nothing in it loads from the network, the CSP is
// there, and no payload's control or bidi characters come through raw.
func TestHTMLHostile(t *testing.T) {
	d, page, _ := hostileReport(t)
	s := string(page)
	if len(d.Findings) < 10 || d.Count("new") == 0 {
		t.Fatalf("the hostile image made %d findings (%d new): the fixture no longer plants them", len(d.Findings), d.Count("new"))
	}
	for _, f := range d.Findings {
		if !strings.Contains(s, f.Fingerprint) {
			t.Errorf("finding %s (%s %q) is not in the HTML", f.Fingerprint, f.RuleID, f.Path)
		}
	}
	csp := `<meta http-equiv="Content-Security-Policy" content="` + strings.NewReplacer("'", "&#39;", "+", "&#43;").Replace(report.CSP) + `">`
	if !strings.Contains(s, csp) || !strings.Contains(report.CSP, "default-src 'none'") || strings.Contains(report.CSP, "unsafe") {
		t.Errorf("no strict CSP meta tag %s", csp)
	}
	// The one style element is what the CSP's hash allows, and nothing
	// else styles the page (a style attribute would need 'unsafe-inline').
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(s, -1)
	if len(styles) != 1 {
		t.Fatalf("%d style elements, want 1", len(styles))
	}
	sum := sha256.Sum256([]byte(styles[0][1]))
	if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(report.CSP, "style-src "+h+";") {
		t.Errorf("CSP %q does not allow the page's style element (%s)", report.CSP, h)
	}
	if regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`).MatchString(s) {
		t.Errorf("the page has a style attribute: %s", regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=[^>]*>`).FindString(s))
	}
	for _, m := range regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*["']?([^"'\s>]*)`).FindAllStringSubmatch(s, -1) {
		if u := strings.ToLower(m[1]); strings.HasPrefix(u, "http:") || strings.HasPrefix(u, "https:") || strings.HasPrefix(u, "//") || strings.HasPrefix(u, "javascript:") {
			t.Errorf("the page links out: %s", m[0])
		}
	}
	for _, c := range []string{"\x1b", "\x07", "\u202e", "\u2066", "\u2069", "\u200b", "\xff"} {
		if strings.Contains(s, c) {
			t.Errorf("the page holds %q raw", c)
		}
	}
	for _, want := range []string{`<span class="esc">\x1b</span>`, `<span class="esc">&lt;U+202E&gt;</span>`, "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(s, want) {
			t.Errorf("the page does not show %s", want)
		}
	}
	if strings.Contains(strings.ToLower(s), "<script") {
		t.Error("the page holds a script element")
	}
}

func TestVisible(t *testing.T) {
	for in, want := range map[string]string{
		"plain <b>&":         "plain &lt;b&gt;&amp;",
		"a\x1b[31mb":         `a<span class="esc">\x1b</span>[31mb`,
		"x\u202ey":           `x<span class="esc">&lt;U+202E&gt;</span>y`,
		"bad\xffbyte":        `bad<span class="esc">\xff</span>byte`,
		"line\nnext\ttab":    "line\nnext\ttab",
		"c1\u0085":           `c1<span class="esc">\u0085</span>`,
		"zero\u200bwidth":    `zero<span class="esc">&lt;U+200B&gt;</span>width`,
		"ünïcødé 文件":         "ünïcødé 文件",
		"\"quote' <img on=x": "&#34;quote&#39; &lt;img on=x",
	} {
		if got := string(report.Visible(in)); got != want {
			t.Errorf("Visible(%q) = %q, want %q", in, got, want)
		}
	}
	if got := report.Plain("a\x1b\u202eb\xff"); got != `a\x1b<U+202E>b\xff` {
		t.Errorf("Plain = %q", got)
	}
}

// TestTop: a report capped at one image details the images with new
// findings (the rebuild, v2) and says the rest are left out, and where the
// full data is.
func TestTop(t *testing.T) {
	db, _ := hostileIndex(t)
	d, err := report.Load(context.Background(), db.Reader(), report.Options{Top: 1, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if d.ImagesAffected != 2 || len(d.Images) != 1 || !d.Capped() || d.Images[0].New == 0 {
		t.Fatalf("top 1 of %d images: detailed %d (capped %v)", d.ImagesAffected, len(d.Images), d.Capped())
	}
	var buf bytes.Buffer
	if err := report.HTML(&buf, d, report.HTMLOptions{JSON: "r.json", CSV: "r.csv"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "1 of the 2 images with findings are detailed here") || !strings.Contains(buf.String(), `href="r.json"`) {
		t.Errorf("the capped page does not say so:\n%.3000s", buf.String())
	}
}

// TestTrendLast30: the trend covers the last 30 scans up to the one
// reported on, oldest first, and the chart marks the failed one in them.
func TestTrendLast30(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	db, err := index.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Now = frozen()
	set, err := rules.NewSet(rules.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 34; i++ {
		id, err := db.BeginScan(ctx, "registry.test", "test")
		if err != nil {
			t.Fatal(err)
		}
		status := index.ScanOK
		if i == 20 {
			status = index.ScanFailed
		}
		if err := db.FinishScan(ctx, id, status, auditor.ScanStats{Images: int64(i)}); err != nil {
			t.Fatal(err)
		}
		if status == index.ScanOK {
			if _, err := rules.Run(ctx, db, set, rules.RunOptions{ScanID: id, Now: db.Now}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ro := reopen(t, db, path)
	d, err := report.Load(ctx, ro.Reader(), report.Options{ScanID: 33, Now: frozen(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Trend) != report.TrendScans || d.Trend[0].ID != 4 || d.Trend[len(d.Trend)-1].ID != 33 {
		t.Fatalf("trend of %d scans from %d to %d, want the 30 scans 4 to 33", len(d.Trend), d.Trend[0].ID, d.Trend[len(d.Trend)-1].ID)
	}
	var buf bytes.Buffer
	if err := report.HTML(&buf, d, report.HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"Trend over the last 30 scans", "<title>scan 20: failed, rules not run: no findings counted</title>", "<title>scan 33: 33 images</title>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not hold %s", want)
		}
	}
	if strings.Contains(page, "<title>scan 3: ") || strings.Contains(page, "<title>scan 34: ") {
		t.Error("the trend shows a scan outside the last 30 up to scan 33")
	}
}
