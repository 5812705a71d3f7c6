package queries

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/queries/querytest"
)

func changeLines(rows []ChangeRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s %s/%s tag=%s digest=%.13s was=%.13s path=%s\n", r.Change, r.Registry, r.Repository, r.Tag, r.ImageDigest, r.Previous, r.Path)
	}
	return b.String()
}

func changesSinceScan(t *testing.T, db *sql.DB, n int64) []ChangeRow {
	t.Helper()
	ctx := context.Background()
	s, err := SinceScan(ctx, db, n)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := FleetChanges(ctx, db, s)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestFleetChanges(t *testing.T) {
	ctx := context.Background()
	db := small(t)
	want := "" +
		"new-image a.test/app tag= digest=sha256:c0ffee was= path=\n" +
		"new-tag a.test/app tag=2.0 digest=sha256:c0ffee was= path=\n" +
		"moved-tag a.test/app tag=latest digest=sha256:c0ffee was=sha256:abcd11 path=\n" +
		"new-file a.test/app tag= digest=sha256:c0ffee was= path=/usr/bin/miner\n"
	rows := changesSinceScan(t, db, 1)
	if got := changeLines(rows); got != want {
		t.Errorf("since scan 1:\n%swant:\n%s", got, want)
	}
	// The same, by date: after scan 1, before scan 2.
	s, err := SinceTime(ctx, db, querytest.Scan1.Add(12*time.Hour))
	if err != nil || s.Scan != 1 {
		t.Fatalf("SinceTime: %+v %v", s, err)
	}
	if rows, err = FleetChanges(ctx, db, s); err != nil || changeLines(rows) != want {
		t.Errorf("since a date between the scans:\n%s%v", changeLines(rows), err)
	}
	// Nothing after the last scan; an unknown scan is an error.
	if s, err := SinceScan(ctx, db, 2); err != nil || !s.None {
		t.Errorf("SinceScan(2) = %+v %v", s, err)
	} else if rows, err := FleetChanges(ctx, db, s); err != nil || len(rows) != 0 {
		t.Errorf("changes after the last scan: %v %v", rows, err)
	}
	if _, err := SinceScan(ctx, db, 9); err == nil || !strings.Contains(err.Error(), "no scan 9") {
		t.Errorf("SinceScan(9): %v", err)
	}
	// Everything is new since before the first scan.
	s, err = SinceTime(ctx, db, querytest.Scan1.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rows, err = FleetChanges(ctx, db, s)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		if r.Change == "new-image" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("new images since before the first scan: %d, want 3\n%s", n, changeLines(rows))
	}
}

// withFindings gives the small index a findings relation with the
// public contract of the rules' view, unless the schema has one already.
func withFindings(t *testing.T) (*sql.DB, bool) {
	t.Helper()
	path := querytest.SmallIndex(t)
	w, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var n int
	if err := w.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'findings'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		return open(t, path), false
	}
	for _, q := range []string{
		`CREATE TABLE findings (fingerprint TEXT, rule_id TEXT, severity TEXT, title TEXT, image_digest TEXT,
			registry TEXT, repository TEXT, tags TEXT, layer_digest TEXT, path TEXT, detail TEXT,
			first_seen INTEGER, last_seen INTEGER, state TEXT)`,
		fmt.Sprintf(`INSERT INTO findings VALUES
			('f1', 'suid-added', 'high', 'setuid file added by an upper layer', '%[1]s', 'a.test', 'app', '2.0', '%[2]s', '/usr/bin/miner', 'mode 4755', 2, 2, 'new'),
			('f2', 'old', 'low', 'an old one', '%[1]s', 'a.test', 'app', '2.0', NULL, '/etc/passwd', '', 1, 2, 'open'),
			('f3', 'gone', 'low', 'resolved', '%[1]s', 'a.test', 'app', '2.0', NULL, '/x', '', 1, 1, 'resolved')`,
			querytest.ImageC, querytest.LayerNew),
	} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return open(t, path), true
}

func TestFindings(t *testing.T) {
	ctx := context.Background()
	db, ours := withFindings(t)
	if !ours {
		t.Skip("the schema has its own findings view; its tests cover it")
	}
	ims, err := Images(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range ims {
		want := int64(0)
		if im.Digest == querytest.ImageC {
			want = 2 // new + open; resolved does not count
		}
		if !im.Findings.Valid || im.Findings.V != want {
			t.Errorf("%s/%s@%.14s findings = %+v, want %d", im.Registry, im.Repository, im.Digest, im.Findings, want)
		}
	}
	rows := changesSinceScan(t, db, 1)
	last := rows[len(rows)-1]
	if last.Change != "new-finding" || last.Path != "/usr/bin/miner" || !strings.Contains(last.Detail, "high suid-added") {
		t.Errorf("new finding: %+v", last)
	}
	for _, r := range rows[:len(rows)-1] {
		if r.Change == "new-finding" {
			t.Errorf("finding first seen in scan 1 reported as new: %+v", r)
		}
	}
}

func TestImagesWithoutFindings(t *testing.T) {
	ims, err := Images(context.Background(), small(t), "b.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(ims) != 1 || ims[0].Digest != querytest.ImageB || ims[0].Layers != 2 || ims[0].Size != 150 || ims[0].Files != 7 {
		t.Fatalf("images b.test: %+v", ims)
	}
	if ok, _ := hasRelation(context.Background(), small(t), "findings"); !ok && ims[0].Findings.Valid {
		t.Errorf("findings count without a findings view: %+v", ims[0].Findings)
	}
}
