package crawl_test

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor/crawl"
)

// TestDeletedTagsGone: a tag deleted from the registry is gone after the
// next scan that lists its repository, and so are the tags of a repository
// left with none; a scan of one tag lists nothing, so marks nothing gone.
func TestDeletedTagsGone(t *testing.T) {
	reg := memRegistry(t)
	for _, ref := range []string{"team/app:1", "team/app:2", "team/web:1"} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		push(t, reg+"/"+ref, img)
	}
	db := tempDB(t)
	res := &result{db: db}
	scanAll := func(targets ...string) {
		t.Helper()
		if _, errs := scanInto(t, db, crawl.Options{}, targets...); len(errs) > 0 {
			t.Fatalf("scan %v: %v", targets, errs)
		}
	}
	current := func() string {
		t.Helper()
		return strings.Join(res.strings(t, `SELECT repository || ':' || tag FROM tags WHERE current ORDER BY 1`), " ")
	}
	scanAll(reg)
	if got, want := current(), "team/app:1 team/app:2 team/web:1"; got != want {
		t.Fatalf("after the first scan, current tags %q, want %q", got, want)
	}
	for _, ref := range []string{"team/app:2", "team/web:1"} {
		tag, err := name.NewTag(reg + "/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Delete(tag); err != nil {
			t.Fatal(err)
		}
	}
	scanAll(reg + "/team/app:1")
	if got, want := current(), "team/app:1 team/app:2 team/web:1"; got != want {
		t.Errorf("after a scan of one tag, current tags %q, want %q", got, want)
	}
	scanAll(reg)
	if got, want := current(), "team/app:1"; got != want {
		t.Errorf("after deleting team/app:2 and team/web:1, current tags %q, want %q", got, want)
	}
	if got := res.strings(t, `SELECT count(*) FROM tags WHERE NOT current AND gone IS NOT NULL`); strings.Join(got, "") != "2" {
		t.Errorf("gone tags: %v, want 2", got)
	}
}
