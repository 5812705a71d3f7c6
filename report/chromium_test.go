package report_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/report"
)

// chromium runs headless Chromium (Debian's chromium or
// chromium-headless-shell; .ci/run installs it) on the file page with
// args, and returns its standard output.
func chromium(t *testing.T, page string, args ...string) []byte {
	t.Helper()
	var bin string
	for _, name := range []string{"chromium", "chromium-headless-shell", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no chromium or chromium-headless-shell on PATH (.ci/run installs Debian's chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,2000"}, args...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+page)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.String())
	}
	return out
}

func writePage(t *testing.T) string {
	t.Helper()
	_, page, _ := hostileReport(t)
	return writeHTML(t, page)
}

func writeHTML(t *testing.T, page []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestChromiumDOM loads the hostile image's report in Chromium and checks
// the DOM it built: no element, event handler or javascript: URL came from
// a payload, and the payloads are there as text.
func TestChromiumDOM(t *testing.T) {
	dom := string(chromium(t, writePage(t), "--dump-dom"))
	if !strings.Contains(dom, "hostile/payloads:v2") {
		t.Fatalf("the dumped DOM is not the report:\n%.2000s", dom)
	}
	if strings.Contains(strings.ToLower(dom), "<script") {
		t.Error("the DOM holds a script element")
	}
	tags := regexp.MustCompile(`<[a-zA-Z][^>]*>`)
	handler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	for _, tag := range tags.FindAllString(dom, -1) {
		low := strings.ToLower(tag)
		switch {
		case handler.MatchString(tag):
			t.Errorf("element with an event handler: %s", tag)
		case strings.Contains(low, "javascript:"):
			t.Errorf("element with a javascript: URL: %s", tag)
		case strings.HasPrefix(low, "<img"), strings.HasPrefix(low, "<svg onload"), strings.HasPrefix(low, "<a href=\"javascript"):
			t.Errorf("injected element: %s", tag)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;", "javascript:alert(4)", `\x1b`, "&lt;U+202E&gt;"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM does not show %s as text", want)
		}
	}
}

// screenshot renders the file page in Chromium and decodes the PNG.
func screenshot(t *testing.T, page string) image.Image {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "shot.png")
	chromium(t, page, "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return img
}

// TestChromiumScreenshot renders the report to a PNG: it must be produced,
// be the size asked for, and show a page (many colours, not one).
func TestChromiumScreenshot(t *testing.T) {
	img := screenshot(t, writePage(t))
	b := img.Bounds()
	if b.Dx() != 1280 || b.Dy() != 2000 {
		t.Errorf("screenshot is %v, want 1280x2000", b)
	}
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if len(colours) < 50 {
		t.Errorf("screenshot has %d colours: the page did not render", len(colours))
	}
}

// TestChromiumTrendLines renders a trend of counts that rise and fall, and counts
// the pixels of the findings line's colour: a line is a few thousand, the
// area under it (the stylesheet's fill winning over fill="none", as it
// once did) tens of thousands.
func TestChromiumTrendLines(t *testing.T) {
	d := &report.Data{Generated: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC), Version: "test"}
	for i, n := range []int64{390, 100, 380, 120, 390, 110} {
		d.Trend = append(d.Trend, report.Scan{ID: int64(i + 1), Status: "ok", RulesRan: true, Findings: n, Started: "2026-12-01T02:00:00Z"})
	}
	d.Scan = d.Trend[len(d.Trend)-1]
	var buf bytes.Buffer
	if err := report.HTML(&buf, d, report.HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	img := screenshot(t, writeHTML(t, buf.Bytes()))
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); r>>8 == 0x15 && g>>8 == 0x65 && bl>>8 == 0xc0 { // --open
				n++
			}
		}
	}
	if n < 500 || n > 12000 {
		t.Errorf("%d pixels of the findings line's colour: want a line (500 to 12,000), not an area nor nothing", n)
	}
}

// pdfPages prints the file page to PDF in Chromium and counts its pages.
func pdfPages(t *testing.T, page string) int {
	t.Helper()
	pdf := filepath.Join(t.TempDir(), "page.pdf")
	chromium(t, page, "--no-pdf-header-footer", "--print-to-pdf="+pdf)
	b, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatalf("no PDF: %v", err)
	}
	return len(regexp.MustCompile(`/Type\s*/Page\b`).FindAll(b, -1))
}

// TestChromiumCappedPage renders the many-findings fixture's capped report
// (3,600 new findings over 60 images): the screenshot shows a page, and
// printed it is a bounded read: at most 150 pages (measured: 132, and 726
// without the caps).
func TestChromiumCappedPage(t *testing.T) {
	_, capped := bigPage(t, bigIndex(t), report.Options{})
	img := screenshot(t, capped)
	colours := map[[3]uint32]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 7 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if len(colours) < 50 {
		t.Errorf("screenshot has %d colours: the page did not render", len(colours))
	}
	if n := pdfPages(t, capped); n < 10 || n > 150 {
		t.Errorf("printed, the capped page is %d pages: want 10 to 150", n)
	}
}
