package rules

import (
	"archive/tar"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestNewToFleetBaselineAndStable: the first scan of an index sets the
// baseline (two images of unrelated layers: nothing new); a later scan of
// one target reports the files its image brings that no image recorded
// before had, and only for that image; the finding stays open through a
// scan of an unrelated tag, and an image indexed later with the same file
// is not reported for it.
func TestNewToFleetBaselineAndStable(t *testing.T) {
	reg := testRegistry(t)
	other := layerOf(t, ent{name: "usr/sbin/", typ: 53}, ent{name: "usr/sbin/nginx", mode: 0o755, body: elf("nginx")},
		ent{name: "usr/lib/libpcre.so.3", mode: 0o644, body: elf("pcre")})
	push(t, reg+"/fleet/a:1", imageOf(t, nil, nil, baseLayer(t)))
	push(t, reg+"/fleet/b:1", imageOf(t, nil, nil, other))
	db := tempDB(t)
	set := defaultSet(t)
	fleetFindings := func(states ...string) []string {
		t.Helper()
		var out []string
		for _, f := range findings(t, db, Filter{States: states}) {
			if f.RuleID == "new-to-fleet" {
				out = append(out, f.Repository+" "+f.Path)
			}
		}
		return out
	}
	newCounts := func(res *Result) (n int) {
		for _, rr := range res.Rules {
			if rr.Rule.ID == "new-to-fleet" {
				n = rr.Findings
			}
		}
		return n
	}

	scanInto(t, db, nil, reg+"/fleet/a:1", reg+"/fleet/b:1")
	if res := runRules(t, db, set, RunOptions{}); newCounts(res) != 0 {
		t.Errorf("first scan: new-to-fleet returned %d rows, want 0 (the baseline): %v", newCounts(res), fleetFindings("new", "open"))
	}

	// One target: the image brings /usr/local/bin/tool and a changed ls.
	tool := layerOf(t, ent{name: "usr/local/bin/tool", mode: 0o755, body: elf("tool")}, ent{name: "usr/bin/ls", mode: 0o755, body: elf("ls 2")},
		ent{name: "etc/tool.conf", body: "not a system directory"})
	push(t, reg+"/fleet/c:1", imageOf(t, nil, nil, baseLayer(t), tool))
	scanInto(t, db, nil, reg+"/fleet/c:1")
	runRules(t, db, set, RunOptions{})
	want := "fleet/c /usr/bin/ls\nfleet/c /usr/local/bin/tool"
	if g := strings.Join(fleetFindings("new"), "\n"); g != want {
		t.Errorf("scan of fleet/c: new findings\n%s\nwant\n%s", g, want)
	}

	// A scan of one unrelated tag, then a later image holding the same
	// tool in a layer of its own: fleet/c's findings stay open, and the
	// later image has nothing new.
	push(t, reg+"/fleet/d:1", imageOf(t, nil, nil, other))
	scanInto(t, db, nil, reg+"/fleet/d:1")
	res := runRules(t, db, set, RunOptions{})
	push(t, reg+"/fleet/e:1", imageOf(t, nil, nil, other, layerOf(t, ent{name: "usr/local/bin/tool", mode: 0o755, body: elf("tool")})))
	scanInto(t, db, nil, reg+"/fleet/e:1")
	res2 := runRules(t, db, set, RunOptions{})
	if g := strings.Join(fleetFindings("open"), "\n"); g != want {
		t.Errorf("after scans of fleet/d and fleet/e: open findings\n%s\nwant\n%s", g, want)
	}
	if g := fleetFindings("resolved"); len(g) != 0 {
		t.Errorf("findings resolved by scans of other targets: %v", g)
	}
	for _, r := range []*Result{res, res2} {
		if r.Counts.New != 0 || r.Counts.Resolved != 0 {
			t.Errorf("scan %d: %+v, want nothing new or resolved", r.ScanID, r.Counts)
		}
	}
}

// TestNewToFleetNoFlood: after the baseline, a scan of one target that
// brings a new base (30 new system files) gives one image-level finding
// counting them, not 30; a target bringing 25 gets one each; a rescan of
// the same targets changes nothing.
func TestNewToFleetNoFlood(t *testing.T) {
	reg := testRegistry(t)
	push(t, reg+"/flood/base:1", imageOf(t, nil, nil, baseLayer(t)))
	files := func(prefix string, n int) v1.Layer {
		ents := []ent{{name: "usr/lib/" + prefix + "/", typ: tar.TypeDir, mode: 0o755}}
		for i := range n {
			ents = append(ents, ent{name: fmt.Sprintf("usr/lib/%s/lib%d.so", prefix, i), mode: 0o644, body: elf(fmt.Sprintf("%s %d", prefix, i))})
		}
		return layerOf(t, ents...)
	}
	db := tempDB(t)
	set := defaultSet(t)
	scanInto(t, db, nil, reg+"/flood/base:1")
	runRules(t, db, set, RunOptions{})

	push(t, reg+"/flood/newbase:1", imageOf(t, nil, nil, files("alpine", 30)))
	push(t, reg+"/flood/upgrade:1", imageOf(t, nil, nil, baseLayer(t), files("up", 25)))
	for range 2 {
		scanInto(t, db, nil, reg+"/flood/newbase:1", reg+"/flood/upgrade:1")
		runRules(t, db, set, RunOptions{})
		per := map[string]int{}
		var summary []string
		for _, f := range findings(t, db, Filter{}) {
			if f.RuleID != "new-to-fleet" {
				continue
			}
			per[f.Repository]++
			if f.Path == "" {
				summary = append(summary, f.Repository+": "+f.Detail)
			}
		}
		if per["flood/newbase"] != 1 || per["flood/upgrade"] != 25 || len(summary) != 1 || !strings.HasPrefix(summary[0], "flood/newbase: 30 system files new") {
			t.Errorf("new-to-fleet findings per image %v, image-level %q; want newbase 1 (30 counted), upgrade 25", per, summary)
		}
	}
}
