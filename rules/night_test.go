package rules

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestNightsAgreeWithFull: after each of several scans (new images on a
// shared base, one that turns the base's majority content of a binary, a
// tag moved to a new image), the incremental runs a nightly scan does
// leave exactly the findings, states and scans that full runs of the pack
// leave on the same scans: rules of scope "image" (new-to-fleet among
// them) and of scope "fleet" alike.
func TestNightsAgreeWithFull(t *testing.T) {
	reg, _, _ := classRegistry(t)
	m := testMatcher(t)
	set := defaultSet(t)
	night, full := tempDB(t), tempDB(t)
	tool := func(body string) ent { return ent{name: "usr/bin/tool", mode: 0o755, body: elf(body)} }
	img := func(repo string, ents ...ent) {
		push(t, reg+"/"+repo, imageOf(t, nil, nil, baseLayer(t), layerOf(t, ents...)))
	}
	nights := []func(){
		func() {},
		// Two images bring a new binary: new to the fleet, the same in both.
		func() { img("night/x1:1", tool("v1")); img("night/x2:1", tool("v1")) },
		// A third with another content: no majority yet.
		func() {
			img("night/x3:1", tool("v2"), ent{name: "usr/local/bin/extra", mode: 0o755, body: elf("extra")})
		},
		// Two more with the first: x3, not scanned again, now drifts.
		func() { img("night/x4:1", tool("v1")); img("night/x5:1", tool("v1")) },
		// x4's tag moves to an image with the second content, and a new
		// image replaces ls.
		func() {
			img("night/x4:1", tool("v2"), ent{name: "etc/x4", body: "2"})
			img("night/x6:1", ent{name: "usr/bin/ls", mode: 0o755, body: elf("ls, but not")})
		},
		func() {},
	}
	state := func(db string) string {
		t.Helper()
		var out []string
		for _, f := range findings(t, db, Filter{}) {
			out = append(out, fmt.Sprintf("%s %s %s %s %q %s %d-%d resolved %d", f.RuleID, f.Repository, f.ImageDigest[:19], f.Path, f.Detail,
				f.State, f.FirstSeen, f.LastSeen, f.ResolvedIn))
		}
		slices.Sort(out)
		return strings.Join(out, "\n")
	}
	fired := map[string]bool{}
	for i, change := range nights {
		change()
		scanInto(t, night, m, reg)
		scanInto(t, full, m, reg)
		runRules(t, night, set, RunOptions{})
		runRules(t, full, set, RunOptions{Full: true})
		n, f := state(night), state(full)
		if n != f {
			t.Fatalf("scan %d: incremental runs left\n%s\nfull runs\n%s", i+1, n, f)
		}
		for _, l := range strings.Split(n, "\n") {
			if strings.Contains(l, "night/") {
				fired[strings.Fields(l)[0]] = true
			}
		}
	}
	for _, id := range []string{"new-to-fleet", "system-binary-fleet-drift", "system-binary-replaced"} {
		if !fired[id] {
			t.Errorf("%s found nothing in the night/ images: the test does not exercise it", id)
		}
	}
}
