package queries

import (
	"context"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestPlanFind(t *testing.T) {
	hash := strings.Repeat("0a", 32)
	for _, c := range []struct {
		pattern      string
		exact        bool
		filter, arg  string
		match, nomat []string
	}{
		{pattern: "/usr/bin/xz", filter: lookPath, arg: "/usr/bin/xz"},
		{pattern: "/usr//bin/./xz/", filter: lookPath, arg: "/usr/bin/xz"},
		{pattern: "/usr/bin/[", filter: lookPath, arg: "/usr/bin/["}, // coreutils' [ is a file, not a bad glob
		{pattern: "/opt/*", exact: true, filter: lookPath, arg: "/opt/*"},
		{pattern: "etc/passwd", filter: lookPath, arg: "/etc/passwd"},
		{pattern: "sha256:" + hash, filter: lookHash, arg: hash},
		{pattern: strings.ToUpper(hash), filter: lookHash, arg: hash},
		{pattern: "sha256:0A0A0A", filter: lookHashStart, arg: "0a0a0a"},
		{pattern: "xmrig", filter: lookGlob, arg: "*xmrig",
			match: []string{"/xmrig", "/tmp/.x/xmrig"}, nomat: []string{"/tmp/xmrig2", "/xmrig/x"}},
		{pattern: "*/authorized_keys", filter: lookGlob, arg: "**/authorized_keys",
			match: []string{"/root/.ssh/authorized_keys", "/home/a/.ssh/authorized_keys"}, nomat: []string{"/authorized_keys", "/root/.ssh/authorized_keys2"}},
		{pattern: "/usr/lib/**/liblzma.so*", filter: lookGlob, arg: "/usr/lib*liblzma.so*",
			match: []string{"/usr/lib/liblzma.so.5", "/usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1"}, nomat: []string{"/usr/lib64/liblzma.so", "/usr/lib/x/liblzma.so/y"}},
		{pattern: "/usr/lib/*/libz.so*", filter: lookGlob, arg: "/usr/lib/*/libz.so*",
			match: []string{"/usr/lib/x86_64-linux-gnu/libz.so.1"}, nomat: []string{"/usr/lib/libz.so.1", "/usr/lib/a/b/libz.so"}},
		{pattern: "/etc/**", filter: lookGlob, arg: "/etc*", match: []string{"/etc", "/etc/a/b"}, nomat: []string{"/etcx"}},
		{pattern: "/bin/[a-c]?", filter: lookGlob, arg: "/bin/??", match: []string{"/bin/ab"}, nomat: []string{"/bin/db", "/bin/a"}},
		{pattern: "/bin/[]x]*", filter: lookPath, arg: "/bin/[]x]*"}, // not a valid glob: a path
		{pattern: `/x/a\*b`, filter: lookGlob, arg: "/x/a[*]b", match: []string{"/x/a*b"}, nomat: []string{"/x/axb"}},
	} {
		p, err := PlanFind(c.pattern, c.exact)
		if err != nil {
			t.Errorf("PlanFind(%q): %v", c.pattern, err)
			continue
		}
		if p.Filter != c.filter || p.Arg != c.arg {
			t.Errorf("PlanFind(%q) = %q %q, want %q %q", c.pattern, p.Filter, p.Arg, c.filter, c.arg)
		}
		for _, m := range c.match {
			if !p.matches(m) || !sqlGlobMatches(p.Arg, m) {
				t.Errorf("%q should match %s (exact %v, SQL superset %v)", c.pattern, m, p.matches(m), sqlGlobMatches(p.Arg, m))
			}
		}
		for _, m := range c.nomat {
			if p.matches(m) {
				t.Errorf("%q should not match %s", c.pattern, m)
			}
		}
	}
	for _, bad := range []string{"", "sha256:abc", "sha256:" + hash + "0", "sha256:xyz123"} {
		if _, err := PlanFind(bad, false); err == nil {
			t.Errorf("PlanFind(%q) accepted", bad)
		}
	}
}

// sqlGlobMatches approximates SQLite GLOB for the checks above: '*' is
// anything, '?' one character, classes as in path.Match over one rune.
func sqlGlobMatches(g, s string) bool {
	re := regexp.QuoteMeta(g)
	re = strings.NewReplacer(`\*`, `.*`, `\?`, `.`, `\[`, `[`, `\]`, `]`, `\^`, `^`, `\-`, `-`).Replace(re)
	return regexp.MustCompile("^" + re + "$").MatchString(s)
}

// The base layer of the fleet, shared by every Debian-based image.
const baseLayer = "sha256:1660d00e467f"

func TestFindHashEveryImageOnce(t *testing.T) {
	ctx := context.Background()
	db := fleet(t)
	// Expected, independently: every (repository, image) whose layers
	// include the base layer.
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT i.repository || '@' || i.digest FROM images i
		JOIN image_layers il ON il.image_digest = i.digest WHERE il.layer_digest GLOB ? ORDER BY 1`, baseLayer+"*")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		want = append(want, s)
	}
	rows.Close()
	if len(want) < 9 {
		t.Fatalf("fleet: only %d images on the base layer", len(want))
	}

	bash, err := Find(ctx, db, FindOptions{Pattern: "/usr/bin/bash", VisibleOnly: true})
	if err != nil || len(bash) == 0 || !bash[0].SHA256.Valid {
		t.Fatalf("find /usr/bin/bash: %v %v", bash, err)
	}
	got, err := Find(ctx, db, FindOptions{Pattern: "sha256:" + bash[0].SHA256.V})
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, r := range got {
		have = append(have, r.Repository+"@"+r.ImageDigest)
		if r.Path != "/usr/bin/bash" || !r.Visible || r.LayerPosition != 0 || !strings.HasPrefix(r.LayerDigest, baseLayer) {
			t.Errorf("bash row %+v", r)
		}
		if len(r.Tags) == 0 || r.Platform != "linux/amd64" {
			t.Errorf("bash row without tags or platform: %+v", r)
		}
	}
	sort.Strings(have)
	if strings.Join(have, "\n") != strings.Join(want, "\n") {
		t.Errorf("find by bash's hash:\n%s\nwant one row per image:\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
}

func TestFindVisibility(t *testing.T) {
	ctx := context.Background()
	db := fleet(t)
	all, err := Find(ctx, db, FindOptions{Pattern: "/etc/motd"})
	if err != nil {
		t.Fatal(err)
	}
	hidden := 0
	for _, r := range all {
		if r.Repository == "edge/corner-cases" {
			hidden++
			if r.Visible || r.HiddenBy.V != 2 || r.HiddenHow.V != "deleted" || r.Type != "file" {
				t.Errorf("corner-cases /etc/motd: %+v, want hidden by 2 (deleted)", r)
			}
		} else if !r.Visible {
			t.Errorf("%s /etc/motd hidden: %+v", r.Repository, r)
		}
	}
	if hidden != 1 {
		t.Errorf("corner-cases rows for /etc/motd: %d (the whiteout marker is not a file)", hidden)
	}
	only, err := Find(ctx, db, FindOptions{Pattern: "/etc/motd", HiddenOnly: true})
	if err != nil || len(only) != 1 || only[0].Repository != "edge/corner-cases" {
		t.Errorf("--hidden-only: %+v %v", only, err)
	}
	vis, err := Find(ctx, db, FindOptions{Pattern: "/etc/motd", VisibleOnly: true})
	if err != nil || len(vis) != len(all)-1 {
		t.Errorf("--visible-only: %d rows, want %d: %v", len(vis), len(all)-1, err)
	}
	// Under the opaque directory: only fresh.txt stays visible.
	data, err := Find(ctx, db, FindOptions{Pattern: "/opt/app/data/*", VisibleOnly: true})
	if err != nil || len(data) != 1 || data[0].Path != "/opt/app/data/fresh.txt" {
		t.Errorf("visible /opt/app/data/*: %+v %v", data, err)
	}
	lim, err := Find(ctx, db, FindOptions{Pattern: "/opt/app/data/**", Limit: 3})
	if err != nil || len(lim) != 3 {
		t.Errorf("--limit 3: %d rows %v", len(lim), err)
	}
}

// TestFindPlans holds the lookups to their indexes: on an index of
// millions of entries, a scan of entries is seconds where a lookup is
// milliseconds.
func TestFindPlans(t *testing.T) {
	ctx := context.Background()
	db := fleet(t)
	scanEntries := regexp.MustCompile(`\bSCAN (e|entries)\b`)
	for _, pattern := range []string{"/usr/bin/bash", "sha256:" + strings.Repeat("ab", 32), "sha256:55b89a", "*/authorized_keys", "/usr/lib/**/liblzma.so*"} {
		p, err := PlanFind(pattern, false)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+findSQL(p.Filter), p.Arg, false, false)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if scanEntries.MatchString(text) {
			t.Errorf("find %s scans the entries:\n%s", pattern, text)
		}
		// image_files is two arms: the entries at their tar path, which
		// must start from the unique index, and the few written through
		// a link (moved), which may start from those.
		var steps []string
		for _, d := range plan {
			if strings.HasPrefix(d, "SEARCH ") || strings.HasPrefix(d, "SCAN ") {
				steps = append(steps, d)
			}
		}
		if p.Filter == lookPath && !strings.Contains(steps[0], "SEARCH p USING COVERING INDEX") ||
			p.Filter == lookHash && !strings.Contains(steps[0], "SEARCH c USING COVERING INDEX") {
			t.Errorf("find %s does not start from the unique index:\n%s", pattern, text)
		}
	}
}

// TestTagCacheBulk checks that the tags tagCache reads in bulk, past
// tagLookups images, are the ones it looks up image by image (directly and
// through an index), for every image of the fleet.
func TestTagCacheBulk(t *testing.T) {
	ctx := context.Background()
	db := fleet(t)
	rows, err := db.QueryContext(ctx, `SELECT registry, repository, digest, COALESCE(index_digest, '') FROM images`)
	if err != nil {
		t.Fatal(err)
	}
	type img struct{ registry, repo, digest, index string }
	var imgs []img
	for rows.Next() {
		var i img
		if err := rows.Scan(&i.registry, &i.repo, &i.digest, &i.index); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, i)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	one, bulk := tagCache{db: db}, tagCache{db: db, lookups: tagLookups}
	defer one.close()
	tagged, viaIndex := 0, 0
	for _, i := range imgs {
		want, err := one.get(ctx, i.registry, i.repo, i.digest, i.index)
		if err != nil {
			t.Fatal(err)
		}
		got, err := bulk.get(ctx, i.registry, i.repo, i.digest, i.index)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s/%s@%s: bulk tags %q, one by one %q", i.registry, i.repo, i.digest, got, want)
		}
		if len(want) > 0 {
			tagged++
			if i.index != "" {
				viaIndex++
			}
		}
	}
	if bulk.all == nil || tagged < 10 || viaIndex == 0 {
		t.Fatalf("bulk loaded: %v; %d images tagged, %d through an index: the comparison proves little", bulk.all != nil, tagged, viaIndex)
	}
}
