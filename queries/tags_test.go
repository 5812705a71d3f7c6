package queries

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/queries/querytest"
)

// TestDeletedTags records a third scan of the small index in which a.test's
// listing lacks app:1.0 and b.test's catalog lacks app: those tags are gone,
// no longer name their images, and show as deleted-tag changes; a tag
// resolved again is back.
func TestDeletedTags(t *testing.T) {
	ctx := context.Background()
	path := querytest.SmallIndex(t)
	w, err := index.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	now := querytest.Scan2.Add(24 * time.Hour)
	w.Now = func() time.Time { now = now.Add(time.Second); return now }
	id, err := w.BeginScan(ctx, "a.test b.test", "test")
	if err != nil {
		t.Fatal(err)
	}
	repoA := auditor.Repo{Registry: "a.test", Name: "app"}
	// 3.0, resolved by this scan but pushed after the listing was read,
	// stays; so does 2.0, seen again by this scan at another image, though
	// its mapping of scan 2 was not.
	if err := w.PutTag(ctx, repoA, "3.0", querytest.ImageC); err != nil {
		t.Fatal(err)
	}
	if err := w.TagsListed(ctx, repoA, []string{"2.0", "latest"}); err != nil {
		t.Fatal(err)
	}
	if err := w.TagsListed(ctx, auditor.Repo{Registry: "b.test", Name: "app"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.FinishScan(ctx, id, index.ScanOK, auditor.ScanStats{}); err != nil {
		t.Fatal(err)
	}
	db := open(t, path)

	current := func() string {
		t.Helper()
		var b strings.Builder
		rows, err := db.Query(`SELECT registry, repository, tag, digest FROM tags WHERE current ORDER BY 1, 2, 3`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var reg, repo, tag, digest string
			if err := rows.Scan(&reg, &repo, &tag, &digest); err != nil {
				t.Fatal(err)
			}
			b.WriteString(reg + "/" + repo + ":" + tag + "=" + digest[:13] + " ")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got, want := current(), "a.test/app:2.0=sha256:c0ffee a.test/app:3.0=sha256:c0ffee a.test/app:latest=sha256:c0ffee "; got != want {
		t.Errorf("current tags: %s, want %s", got, want)
	}
	if got, want := changeLines(changesSinceScan(t, db, 2)), ""+
		"deleted-tag a.test/app tag=1.0 digest=sha256:abcd11 was= path=\n"+
		"new-tag a.test/app tag=3.0 digest=sha256:c0ffee was= path=\n"+
		"deleted-tag b.test/app tag=1.0 digest=sha256:abcd22 was= path=\n"; got != want {
		t.Errorf("changes since scan 2:\n%swant:\n%s", got, want)
	}
	imgs, err := Images(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range imgs {
		if im.Digest != querytest.ImageC && len(im.Tags) > 0 {
			t.Errorf("image %s/%s@%.13s still has tags %v", im.Registry, im.Repository, im.Digest, im.Tags)
		}
	}
	if imgs, err := Images(ctx, db, "app:1.0"); err != nil || len(imgs) != 0 {
		t.Errorf("images app:1.0: %d rows, %v; want none", len(imgs), err)
	}
	var table strings.Builder
	if err := Write(&table, Table, ImagesResult(imgs), TableOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(table.String(), "(untagged)"); n != 2 {
		t.Errorf("images table marks %d images untagged, want 2 (a.test's ImageA, b.test's ImageB):\n%s", n, table.String())
	}

	// Seen again: current again. latest moves back to where it was at
	// scan 1: a change since scan 2, none since scan 1.
	for _, tag := range []string{"1.0", "latest"} {
		if err := w.PutTag(ctx, repoA, tag, querytest.ImageA); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := current(), "a.test/app:1.0=sha256:abcd11 a.test/app:2.0=sha256:c0ffee a.test/app:3.0=sha256:c0ffee a.test/app:latest=sha256:abcd11 "; got != want {
		t.Errorf("current tags after 1.0 is seen again: %s, want %s", got, want)
	}
	if got, want := changeLines(changesSinceScan(t, db, 2)), ""+
		"new-tag a.test/app tag=3.0 digest=sha256:c0ffee was= path=\n"+
		"moved-tag a.test/app tag=latest digest=sha256:abcd11 was=sha256:c0ffee path=\n"+
		"deleted-tag b.test/app tag=1.0 digest=sha256:abcd22 was= path=\n"; got != want {
		t.Errorf("changes since scan 2, latest moved back:\n%swant:\n%s", got, want)
	}
	for _, r := range changesSinceScan(t, db, 1) {
		if r.Tag == "latest" || r.Tag == "1.0" && r.Registry == "a.test" {
			t.Errorf("since scan 1: %s of %s:%s, which points where it did then", r.Change, r.Repository, r.Tag)
		}
	}
}
