package report_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/hostileimage"
	"github.com/auditor-dev/auditor/internal/testlayer"
	"github.com/auditor-dev/auditor/report"
)

// The many-findings fixture: bigImages images, each with bigFiles setuid
// files outside the usual set (one setuid-unusual finding each).
const bigImages, bigFiles = 60, 60

// bigIndex pushes the many-findings fixture to an in-process registry and
// scans the registry once.
func bigIndex(t *testing.T) *index.DB {
	t.Helper()
	host := hostileimage.Registry(t)
	for i := range bigImages {
		var ents []testlayer.Entry
		for j := range bigFiles {
			ents = append(ents, testlayer.Entry{Name: fmt.Sprintf("opt/app%02d/bin/helper-%02d", i, j), Mode: 0o4755, Body: fmt.Sprintf("\x7fELF\x02\x01\x01\x00%d-%d", i, j)})
		}
		img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: testlayer.Layer(t, ents...),
			History: v1.History{CreatedBy: fmt.Sprintf("/bin/sh -c #(nop) COPY dir:%02d in /opt/ ", i)}})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(fmt.Sprintf("%s/many/app-%02d:v1", host, i), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	return scanIndex(t, []string{host}, nil)
}

// bigPage loads the fixture's report with o and writes it, with the full
// data beside, in a new directory; it returns the data and the page's path.
func bigPage(t *testing.T, db *index.DB, o report.Options) (*report.Data, string) {
	t.Helper()
	o.Now, o.Version = frozen(), "test"
	d, err := report.Load(context.Background(), db.Reader(), o)
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	if err := report.WriteFile(page, "html", d, nil); err != nil {
		t.Fatal(err)
	}
	return d, page
}

// TestCapsForBigFleets: with 3,600 new findings over 60 images, every list
// of the page is capped at its default (200 new findings, 50 top images,
// 50 images detailed though all 60 have new findings, 20 findings each),
// each says how many it leaves out and where the full data is, no link
// points to an anchor the page lacks, what the page lists is in the JSON
// beside it, which holds every finding, and the page is at most a third of
// the uncapped one.
func TestCapsForBigFleets(t *testing.T) {
	db := bigIndex(t)
	d, page := bigPage(t, db, report.Options{})
	total := bigImages * bigFiles
	if d.NewTotal != total || d.Count("new") != total || d.ImagesAffected != bigImages {
		t.Fatalf("%d new findings (%d counted) over %d images, want %d over %d", d.NewTotal, d.Count("new"), d.ImagesAffected, total, bigImages)
	}
	// 40 images detailed share the budget of findings listed: 10 each.
	perImage := report.DefaultMaxListed / report.DefaultMaxDetailed
	if d.PerImage() != perImage || perImage < report.MinImageFindings {
		t.Errorf("%d findings listed per image, want %d", d.PerImage(), perImage)
	}
	dir := filepath.Dir(page)
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	full := `: the full data is in <a href="report.json">report.json</a> and <a href="report.csv">report.csv</a>, beside this file.`
	for _, want := range []string{
		fmt.Sprintf("<h2>New findings tonight (%d)</h2>", total),
		fmt.Sprintf(`%d of the %d new findings are listed (most severe first, at most %d of a severity per image); %d more are not`+full,
			report.DefaultMaxNew, total, perImage, total-report.DefaultMaxNew),
		fmt.Sprintf(`<tr><td colspan="5" class="sub">and %d more new high findings of this image, not listed here</td></tr>`, bigFiles-perImage),
		fmt.Sprintf(`<span class="pill high">HIGH</span> %d new</td></tr>`, total),
		fmt.Sprintf(`The first %d images are listed; %d more images have new or open findings`+full, report.DefaultMaxTopImages, bigImages-report.DefaultMaxTopImages),
		fmt.Sprintf(`The first %d of this image's %d findings are listed; %d more are not (%d new, 0 open, 0 suppressed, 0 resolved)`+full,
			perImage, bigFiles, bigFiles-perImage, bigFiles-perImage),
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the page does not say %s", want)
		}
	}
	if n := strings.Count(s, `<section class="img `); n != report.DefaultMaxDetailed || len(d.Images) != n {
		t.Errorf("%d images detailed (%d in the data), want %d", n, len(d.Images), report.DefaultMaxDetailed)
	}
	if want := fmt.Sprintf("%d of the %d images with findings are detailed here: the top ones (worst finding, then most findings), and images with new findings up to %[1]d in all (%[3]d with new findings are not detailed)",
		report.DefaultMaxDetailed, bigImages, bigImages-report.DefaultMaxDetailed); !strings.Contains(s, want) {
		t.Errorf("the page does not say %s", want)
	}
	if n := strings.Count(s, `<tr id="f-`); n != report.DefaultMaxDetailed*perImage {
		t.Errorf("%d findings listed under images, want %d", n, report.DefaultMaxDetailed*perImage)
	}
	// Every in-page link has its anchor.
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(s, -1) {
		ids[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(s, -1) {
		if id, err := url.PathUnescape(m[1]); err != nil || !ids[id] { // a browser decodes the fragment (html/template writes : as %3a)
			t.Errorf("link to #%s, which the page lacks", m[1])
			break
		}
	}
	// The JSON beside holds every finding; the page's fingerprints are its.
	js, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var inJSON int
	for _, f := range d.Findings {
		if bytes.Contains(js, []byte(`"`+f.Fingerprint+`"`)) {
			inJSON++
		}
	}
	if inJSON != total {
		t.Errorf("%d of the %d findings are in report.json", inJSON, total)
	}
	for _, m := range regexp.MustCompile(`<span class="full">([0-9a-f]+)</span>`).FindAllStringSubmatch(s, -1) {
		if !bytes.Contains(js, []byte(`"`+m[1]+`"`)) {
			t.Errorf("the page shows finding %s, which report.json lacks", m[1])
		}
	}
	// Bounded: the page without the caps is several times the size.
	_, all := bigPage(t, db, report.Options{MaxNew: 1 << 30, MaxImageFindings: 1 << 30, MaxTopImages: 1 << 30})
	st, err := os.Stat(all)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(html))*3 > st.Size() {
		t.Errorf("the capped page is %d bytes, uncapped %d", len(html), st.Size())
	}
	// Four images detailed list up to MaxImageFindings each.
	if d, _ := bigPage(t, db, report.Options{Top: 4, MaxDetailed: 4}); len(d.Images) != 4 || d.PerImage() != report.MaxImageFindings ||
		len(d.Images[0].Findings) != report.MaxImageFindings || d.Images[0].More.Total != bigFiles-report.MaxImageFindings {
		t.Errorf("4 images detailed: %d, listing %d each", len(d.Images), d.PerImage())
	}

}
