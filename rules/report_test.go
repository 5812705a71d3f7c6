package rules

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// reportIndex scans two planted images and runs the pack with a
// suppression; it returns the index and the registry.
func reportIndex(t *testing.T, sups []Suppression) (string, *Result) {
	t.Helper()
	db, _, res := reportIndexAt(t, sups)
	return db, res
}

// reportIndexAt is reportIndex, also returning the registry.
func reportIndexAt(t *testing.T, sups []Suppression) (string, string, *Result) {
	t.Helper()
	reg := testRegistry(t)
	base := baseLayer(t)
	push(t, reg+"/team/app:1.0", imageOf(t, nil, nil, base,
		layerOf(t, ent{name: "opt/tools/xmrig", body: "x"}, ent{name: "srv/.env", body: "DB_PASSWORD=x\n"})))
	push(t, reg+"/team/app:2.0", imageOf(t, func(c *v1.ConfigFile) { c.Config.Env = append(c.Config.Env, "LD_PRELOAD=/opt/hook.so") }, nil, base))
	db := tempDB(t)
	scanInto(t, db, testMatcher(t), reg)
	res := runRules(t, db, defaultSet(t), RunOptions{Suppressions: sups,
		Now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }})
	return db, reg, res
}

func TestSuppressions(t *testing.T) {
	sups := []Suppression{
		{Rule: "secret-file-name", Image: "team/app:1.*", Path: "/srv/*", Reason: "test fixture", Expires: "2026-12-31"},
		{Rule: "known-bad-name", Reason: "expired", Expires: "2026-05-31"},
		{Rule: "config-ld-preload", Image: "other/*", Reason: "matches nothing"},
	}
	db, reg, res := reportIndexAt(t, sups)
	var got []string
	for _, f := range findings(t, db, Filter{}) {
		got = append(got, f.RuleID+" "+f.Suppressed)
	}
	want := "known-bad-name \nconfig-ld-preload \nsecret-file-name test fixture"
	if strings.Join(got, "\n") != want {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	if len(res.Warnings) != 2 || !strings.Contains(res.Warnings[0], "expired on 2026-05-31") || !strings.Contains(res.Warnings[1], "matched no finding") {
		t.Errorf("warnings: %q", res.Warnings)
	}
	// A run with nothing to evaluate again carries the findings over: the
	// suppression that matched one is still in use, not "matched no finding".
	res = runRules(t, db, defaultSet(t), RunOptions{Suppressions: sups[:1],
		Now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }})
	if len(res.Warnings) != 0 {
		t.Errorf("incremental run warnings: %q", res.Warnings)
	}
	// Suppressed findings are not reported unless asked for.
	if fs, _ := readFindingsAt(t, db, Filter{States: []string{"new"}}); len(fs) != 2 {
		t.Errorf("new unsuppressed findings: %d, want 2", len(fs))
	}
	// Findings carried over take the suppressions of each run: one added,
	// one expired, and none at all.
	suppressedAfter := func(day time.Time, sups []Suppression) string {
		t.Helper()
		runRules(t, db, defaultSet(t), RunOptions{Suppressions: sups, Now: func() time.Time { return day }})
		var got []string
		for _, f := range findings(t, db, Filter{}) {
			got = append(got, f.RuleID+" "+f.Suppressed)
		}
		return strings.Join(got, "\n")
	}
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	added := append(sups[:1:1], Suppression{Rule: "known-bad-name", Image: "team/app", Reason: "triaged"})
	if got, want := suppressedAfter(june, added), "known-bad-name triaged\nconfig-ld-preload \nsecret-file-name test fixture"; got != want {
		t.Errorf("suppression added, carried findings:\n%s\nwant:\n%s", got, want)
	}
	scanInto(t, db, testMatcher(t), reg) // a later night: nothing changed
	if got, want := suppressedAfter(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), added), "known-bad-name triaged\nconfig-ld-preload \nsecret-file-name "; got != want {
		t.Errorf("suppression expired, carried findings:\n%s\nwant:\n%s", got, want)
	}
	// Its suppression gone, the finding is new again: the night's report
	// shows it and --fail-on counts it.
	if fs, _ := readFindingsAt(t, db, Filter{States: []string{"new"}}); !slices.ContainsFunc(fs, func(f Finding) bool { return f.RuleID == "secret-file-name" }) {
		t.Errorf("secret-file-name not new after its suppression expired: %+v", fs)
	}
	if got, want := suppressedAfter(june, nil), "known-bad-name \nconfig-ld-preload \nsecret-file-name "; got != want {
		t.Errorf("no suppressions, carried findings:\n%s\nwant:\n%s", got, want)
	}
	for _, bad := range []Suppression{{Rule: "x"}, {Reason: "r"}, {Fingerprint: "f", Rule: "x", Reason: "r"}, {Rule: "x", Reason: "r", Expires: "tomorrow"}} {
		if err := bad.compile(0); err == nil {
			t.Errorf("suppression %+v: no error", bad)
		}
	}
}

// readFindingsAt reads findings without suppressed ones.
func readFindingsAt(t *testing.T, db string, f Filter) ([]Finding, error) {
	t.Helper()
	all := findings(t, db, f)
	var out []Finding
	for _, x := range all {
		if x.Suppressed == "" {
			out = append(out, x)
		}
	}
	return out, nil
}

// TestReportFormats renders the same findings in every format and compares
// with testdata/report.* (go test ./rules -run ReportFormats -update).
func TestReportFormats(t *testing.T) {
	db, res := reportIndex(t, []Suppression{{Rule: "secret-file-name", Reason: "test fixture"}})
	fs := findings(t, db, Filter{})
	for i := range fs {
		fs[i].Registry = "registry.example" // the test registry's port changes per run
	}
	rep := &Report{ScanID: res.ScanID, Title: "new findings", Findings: fs, Rules: defaultSet(t).Rules[:2], Version: "test"}
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, format, rep); err != nil {
				t.Fatal(err)
			}
			if format == "json" || format == "sarif" {
				var v any
				if err := json.Unmarshal(b.Bytes(), &v); err != nil {
					t.Fatalf("%s output is not JSON: %v", format, err)
				}
			}
			golden := filepath.Join("testdata", "report."+format)
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s report differs from %s (run with -update to accept):\n%s", format, golden, b.String())
			}
		})
	}
	if err := Write(&bytes.Buffer{}, "xml", rep); err == nil {
		t.Error("unknown format: no error")
	}
}

// TestDisabledRuleFindings: disabling a rule resolves its findings;
// enabling it again evaluates it on every image, so they come back.
func TestDisabledRuleFindings(t *testing.T) {
	db, _ := reportIndex(t, nil)
	states := func() string { t.Helper(); return findingStates(t, db) }
	if got, want := states(), "known-bad-name new, config-ld-preload new, secret-file-name new"; got != want {
		t.Fatalf("findings: %s, want %s", got, want)
	}
	without, err := NewSet(SetOptions{Disable: []string{"known-bad-name"}})
	if err != nil {
		t.Fatal(err)
	}
	res := runRules(t, db, without, RunOptions{})
	if got, want := states(), "known-bad-name resolved, config-ld-preload new, secret-file-name new"; got != want {
		t.Errorf("with known-bad-name disabled: %s, want %s", got, want)
	}
	if res.Counts.Resolved != 1 {
		t.Errorf("resolved %d, want 1", res.Counts.Resolved)
	}
	runRules(t, db, defaultSet(t), RunOptions{})
	if got, want := states(), "known-bad-name new, config-ld-preload new, secret-file-name new"; got != want {
		t.Errorf("enabled again: %s, want %s", got, want)
	}
}

// TestUntaggedImageFindings: when team/app:1.0 moves to the image of 2.0,
// the image it named has no tag left and its findings are resolved; moved
// back, they are open again.
func TestUntaggedImageFindings(t *testing.T) {
	db, reg, _ := reportIndexAt(t, nil)
	states := func() string { t.Helper(); return findingStates(t, db) }
	retag := func(from, to string) {
		t.Helper()
		src, err := name.ParseReference(reg + "/team/app:" + from)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(src)
		if err != nil {
			t.Fatal(err)
		}
		push(t, reg+"/team/app:"+to, img)
		scanInto(t, db, testMatcher(t), reg)
		runRules(t, db, defaultSet(t), RunOptions{})
	}
	first, err := remote.Image(mustRef(t, reg+"/team/app:1.0"))
	if err != nil {
		t.Fatal(err)
	}
	retag("2.0", "1.0")
	if got, want := states(), "known-bad-name resolved, config-ld-preload open, secret-file-name resolved"; got != want {
		t.Errorf("1.0 moved to 2.0's image: %s, want %s", got, want)
	}
	push(t, reg+"/team/app:1.0", first)
	scanInto(t, db, testMatcher(t), reg)
	runRules(t, db, defaultSet(t), RunOptions{})
	if got, want := states(), "known-bad-name new, config-ld-preload open, secret-file-name new"; got != want {
		t.Errorf("1.0 moved back: %s, want %s", got, want)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSuppressionRuleGlob: rule takes a glob, as [rules] disable does.
func TestSuppressionRuleGlob(t *testing.T) {
	for glob, cases := range map[string]map[string]bool{
		"setuid-*":    {"setuid-unusual": true, "setuid-added-by-upper-layer": true, "file-capabilities": false, "xsetuid-unusual": false},
		"setuid-[u]*": {"setuid-unusual": true, "setuid-added-by-upper-layer": false},
	} {
		s := Suppression{Rule: glob, Reason: "reviewed"}
		if err := s.compile(0); err != nil {
			t.Fatal(err)
		}
		for rule, want := range cases {
			if got := s.matches(&Finding{RuleID: rule}, nil); got != want {
				t.Errorf("rule %q matched %s: %v, want %v", s.Rule, rule, got, want)
			}
		}
	}
	if err := (&Suppression{Rule: "setuid-[", Reason: "r"}).compile(0); err == nil {
		t.Error("a bad rule glob was accepted")
	}
}

// findingStates lists the index's findings (suppressed included) as
// "rule state", most severe first.
func findingStates(t *testing.T, db string) string {
	t.Helper()
	var got []string
	for _, f := range findings(t, db, Filter{}) {
		got = append(got, f.RuleID+" "+f.State)
	}
	return strings.Join(got, ", ")
}
