package queries

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
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
	if s, err := SinceTime(ctx, db, querytest.Scan1.Add(24*365*time.Hour)); err != nil || !s.None {
		t.Errorf("SinceTime(a year after) = %+v %v, want None: no scan came after", s, err)
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

// withFindings records, through the real writer, rules runs on the small
// index: scan 1 finds "old" on ImageA; scan 2 finds it again and "suid-added"
// on ImageC, which a second repository (a.test/mirror) also holds.
func withFindings(t *testing.T) *sql.DB {
	t.Helper()
	ctx := context.Background()
	path := querytest.SmallIndex(t)
	w, err := index.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if ok, err := w.LinkImage(ctx, auditor.Repo{Registry: "a.test", Name: "mirror"}, "", querytest.ImageC); err != nil || !ok {
		t.Fatalf("link: %v %v", ok, err)
	}
	rules := []index.RuleEval{{RuleID: "old", Version: "1"}, {RuleID: "suid-added", Version: "1"}}
	old := index.Finding{Fingerprint: "f-old", RuleID: "old", Severity: "low", Title: "an old one", ImageDigest: querytest.ImageA, Path: "/etc/passwd"}
	suid := index.Finding{Fingerprint: "f-suid", RuleID: "suid-added", Severity: "high", Title: "setuid file added by an upper layer",
		ImageDigest: querytest.ImageC, LayerDigest: querytest.LayerNew, Path: "/usr/bin/miner", Detail: "mode 4755"}
	for _, run := range []struct {
		scan int64
		fs   []index.Finding
	}{{1, []index.Finding{old}}, {2, []index.Finding{old, suid}}} {
		if _, err := w.RecordFindings(ctx, run.scan, index.RulesRun{Started: "now", Evaluated: rules, Rules: []string{"old", "suid-added"}, Findings: run.fs}); err != nil {
			t.Fatal(err)
		}
	}
	return open(t, path)
}

func TestFindings(t *testing.T) {
	ctx := context.Background()
	db := withFindings(t)
	ims, err := Images(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range ims {
		want := int64(0)
		switch im.Digest {
		case querytest.ImageA, querytest.ImageC: // ImageC in both of its repositories
			want = 1
		}
		if !im.Findings.Valid || im.Findings.V != want {
			t.Errorf("%s/%s@%.14s findings = %+v, want %d", im.Registry, im.Repository, im.Digest, im.Findings, want)
		}
	}
	var news []ChangeRow
	for _, r := range changesSinceScan(t, db, 1) {
		if r.Change == "new-finding" {
			news = append(news, r)
		}
	}
	if len(news) != 1 || news[0].Path != "/usr/bin/miner" || !strings.Contains(news[0].Detail, "high suid-added") {
		t.Errorf("new findings since scan 1 (the one of scan 2 only): %+v", news)
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
