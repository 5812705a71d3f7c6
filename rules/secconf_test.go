package rules

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/crawl"
)

// dumpView returns every row of view, sorted, columns joined by "|".
func dumpView(t testing.TB, db, view string) string {
	t.Helper()
	rows, err := openRO(t, db).Reader().Query("SELECT * FROM " + view)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('|')
			}
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprint(&b, v)
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestConfigScannerAddedLater: an index made before the config scanner
// existed has its layers read once more, for that scanner alone, on the
// next scan; the security-configuration views then hold what a fresh index
// holds, and the rules built on them fire; a third scan reads nothing.
func TestConfigScannerAddedLater(t *testing.T) {
	reg, _, _ := classRegistry(t)
	m := testMatcher(t)
	old, fresh := tempDB(t), tempDB(t)

	scanWith(t, old, crawl.Options{Scanners: []crawl.LayerScanner{m}}, reg)
	if n := countRows(t, old, "image_config_files"); n != 0 {
		t.Fatalf("without the config scanner: %d configuration files", n)
	}
	entries := countRows(t, old, "files")
	scanInto(t, old, m, reg)
	scanInto(t, fresh, m, reg)
	if n := countRows(t, old, "files"); n != entries {
		t.Errorf("read again for the config scanner: %d entries, was %d (written twice?)", n, entries)
	}
	for _, view := range []string{"image_config_files", "image_config_lines", "accounts", "sudo_grants", "sshd_effective",
		"pam_lines", "cron_jobs", "unit_directives", "hosts_entries", "package_sources"} {
		got, want := dumpView(t, old, view), dumpView(t, fresh, view)
		if got != want || want == "" {
			t.Errorf("%s after the re-read:\n%s\nfresh index:\n%s", view, got, want)
		}
	}
	if got := queryLines(t, old, `SELECT count(*) FROM layer_scans WHERE scanner = 'config' AND error IS NULL`); got != queryLines(t, old, `SELECT count(*) FROM layers`) {
		t.Errorf("layers read by the config scanner: %s of %s", got, queryLines(t, old, `SELECT count(*) FROM layers`))
	}
}

// TestFleetSecurityConfig reads the shared fleet's real images through the
// config views: every image that shows an /etc/passwd has its root account
// (uid 0, password never empty), and every Debian image its apt sources.
func TestFleetSecurityConfig(t *testing.T) {
	db := fleetIndex(t)
	withPasswd := queryLines(t, db, `SELECT count(DISTINCT image_digest) FROM image_files WHERE path = '/etc/passwd' AND visible AND type = 'file'`)
	rooted := queryLines(t, db, `SELECT count(DISTINCT image_digest) FROM accounts WHERE name = 'root' AND uid = 0 AND password <> 'empty'`)
	if withPasswd == "0" || rooted != withPasswd {
		t.Errorf("%s images show /etc/passwd, %s have a root account of uid 0 with a password that is not empty", withPasswd, rooted)
	}
	debian := queryLines(t, db, `SELECT count(DISTINCT image_digest) FROM image_files WHERE path = '/etc/debian_version' AND visible`)
	sourced := queryLines(t, db, `SELECT count(DISTINCT image_digest) FROM package_sources WHERE manager = 'apt' AND uri LIKE '%debian.org%' AND trusted = 0`)
	if debian == "0" || sourced != debian {
		t.Errorf("%s Debian images, %s with signed apt sources from debian.org", debian, sourced)
	}
}
