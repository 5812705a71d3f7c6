package scan

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/indextest"
	"github.com/auditor-dev/auditor/rules"
)

// testRegistry starts go-containerregistry's in-process registry with one
// image, team/app:1, holding /etc/marker, and returns its host:port.
func testRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	reg := strings.TrimPrefix(srv.URL, "http://")
	l, err := crane.Layer(map[string][]byte{"etc/marker": []byte("x"), "etc/hostname": []byte("app\n")})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg + "/team/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return reg
}

func openDB(t *testing.T) *index.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.db")
	db, err := index.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func targets(t *testing.T, names ...string) []crawl.Target {
	t.Helper()
	var ts []crawl.Target
	for _, n := range names {
		tg, err := crawl.ParseTarget(n)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tg)
	}
	return ts
}

// markerRules finds /etc/marker in each image.
func markerRules() *rules.Set {
	return &rules.Set{Rules: []rules.Rule{{ID: "marker", Title: "marker file", Severity: rules.High, Scope: "image", Source: "test",
		Query: `SELECT image_digest, path, layer_digest, 'marker' AS detail FROM image_files WHERE path = '/etc/marker' AND visible`}}}
}

type countingProgress struct{ starts, stops int }

func (p *countingProgress) Start(func() crawl.Stats) { p.starts++ }
func (p *countingProgress) Stop(crawl.Stats)         { p.stops++ }

// TestRun: a scan with one image and one missing tag is recorded with
// status errors, its error in scan_errors as in the Result, the rules run
// for it after Crawled; a second scan of the same finds nothing new.
func TestRun(t *testing.T) {
	reg := testRegistry(t)
	db := openDB(t)
	ctx := context.Background()
	var prog countingProgress
	var crawled *Result
	var onError []auditor.ScanError
	o := Options{
		Targets:  targets(t, reg+"/team/app:1", reg+"/team/app:gone"),
		Version:  "test-1",
		Crawl:    crawl.Options{Jobs: 2, OnError: func(e auditor.ScanError) { onError = append(onError, e) }},
		Rules:    markerRules(),
		Progress: &prog,
		Crawled: func(r *Result) {
			if r.Rules != nil {
				t.Error("Crawled called after the rules ran")
			}
			crawled = r
		},
	}
	res, err := Run(ctx, db, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != 1 || res.Status != index.ScanErrors || res.Err != nil || res.Stats.Images != 1 {
		t.Errorf("scan %d: %s (%v), %d images; want 1: errors, 1 image", res.ID, res.Status, res.Err, res.Stats.Images)
	}
	if crawled != res || prog.starts != 1 || prog.stops != 1 {
		t.Errorf("Crawled got %p (want %p), progress started %d and stopped %d times", crawled, res, prog.starts, prog.stops)
	}
	if len(res.Errors) != 1 || len(onError) != 1 || !strings.Contains(DescribeError(res.Errors[0]), "team/app:gone") {
		t.Errorf("errors %+v, OnError got %d", res.Errors, len(onError))
	}
	got := indextest.Strings(t, db.Reader(), `SELECT s.status || ' ' || s.targets || ' ' || s.auditor_version || ' ' || count(e.scan_id)
		FROM scans s LEFT JOIN scan_errors e ON e.scan_id = s.id GROUP BY s.id`)
	want := "errors " + reg + "/team/app:1 " + reg + "/team/app:gone test-1 1"
	if len(got) != 1 || got[0] != want {
		t.Errorf("scans: %q, want %q", got, want)
	}
	if res.Rules == nil || res.Rules.ScanID != 1 || res.Rules.Counts.New != 1 {
		t.Fatalf("rules: %+v, want one new finding for scan 1", res.Rules)
	}

	o.Label = "again"
	o.Targets = o.Targets[:1]
	res, err = Run(ctx, db, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != 2 || res.Status != index.ScanOK || res.Rules == nil || res.Rules.Counts.New != 0 || res.Rules.Counts.Findings != 1 {
		t.Errorf("second scan %d: %s, rules %+v; want 2: ok, the finding open and not new", res.ID, res.Status, res.Rules)
	}
	if got := indextest.Strings(t, db.Reader(), `SELECT targets FROM scans WHERE id = 2`); len(got) != 1 || got[0] != "again" {
		t.Errorf("label recorded: %q", got)
	}
}

// TestRunRefusesBeforeRecording: a rule that does not compile fails Run
// before a scan is recorded or anything is fetched.
func TestRunRefusesBeforeRecording(t *testing.T) {
	db := openDB(t)
	set := markerRules()
	set.Rules[0].Query = `SELECT image_digest, path FROM no_such_view`
	res, err := Run(context.Background(), db, Options{Targets: targets(t, "127.0.0.1:1/a:1"), Rules: set})
	if err == nil || res != nil || !strings.Contains(err.Error(), "rule marker") {
		t.Errorf("Run = %v, %v; want no result and an error naming the rule", res, err)
	}
	if _, err := Run(context.Background(), db, Options{Targets: targets(t, "127.0.0.1:1/a:1"), Crawl: crawl.Options{Jobs: -1}}); err == nil {
		t.Error("Run accepted Jobs -1")
	}
	if got := indextest.Strings(t, db.Reader(), `SELECT count(*) FROM scans`); got[0] != "0" {
		t.Errorf("%s scans recorded, want 0", got[0])
	}
}

// TestRunNothingReachable: a scan of which nothing answers is failed, says
// why, is recorded as failed, and runs no rules.
func TestRunNothingReachable(t *testing.T) {
	db := openDB(t)
	res, err := Run(context.Background(), db, Options{Targets: targets(t, "127.0.0.1:1"), Rules: markerRules(),
		Crawl: crawl.Options{Retry: crawl.Retry{Attempts: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != index.ScanFailed || res.Err == nil || !strings.Contains(res.Err.Error(), "nothing reachable") || res.Rules != nil {
		t.Errorf("scan: %s (%v), rules %v; want failed, nothing reachable, no rules", res.Status, res.Err, res.Rules)
	}
	if got := indextest.Strings(t, db.Reader(), `SELECT status FROM scans`); len(got) != 1 || got[0] != "failed" {
		t.Errorf("recorded: %q", got)
	}
}

// TestDescribeError names registry images host/repo:tag and local inputs as
// they are given on the command line.
func TestDescribeError(t *testing.T) {
	for _, c := range []struct {
		e    auditor.ScanError
		want string
	}{
		{auditor.ScanError{Registry: "r.example", Repository: "app", Reference: "1.0", Message: "m"}, "r.example/app:1.0: m"},
		{auditor.ScanError{Registry: "r.example", Repository: "app", Reference: "sha256:ab", Message: "m"}, "r.example/app@sha256:ab: m"},
		{auditor.ScanError{Registry: "oci-archive", Repository: "/tmp/a.tar", Reference: "v1", Message: "m"}, "oci-archive:/tmp/a.tar:v1: m"},
		{auditor.ScanError{Registry: "r.example", Message: "m"}, "r.example: m"},
	} {
		if got := DescribeError(c.e); got != c.want {
			t.Errorf("DescribeError(%+v) = %q, want %q", c.e, got, c.want)
		}
	}
}
