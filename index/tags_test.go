package index

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/internal/indextest"
)

// TestTagsListedKeepsTagsSeenNow: a listing that lacks a tag the running
// scan saw (at another digest than before) marks none of its mappings gone.
func TestTagsListedKeepsTagsSeenNow(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { now = now.Add(time.Second); return now }
	repo := Repo{Registry: "r", Name: "app"}
	for _, digest := range []string{"sha256:aa", "sha256:bb"} {
		if _, err := db.BeginScan(ctx, "r", "test"); err != nil {
			t.Fatal(err)
		}
		if err := db.PutTag(ctx, repo, "latest", digest); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.TagsListed(ctx, repo, []string{"other"}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(indextest.Strings(t, db.w, `SELECT tag || ' ' || digest || ' ' || current || ' ' || COALESCE(gone, '-') FROM tags ORDER BY digest`), ", ")
	if want := "latest sha256:aa 0 -, latest sha256:bb 1 -"; got != want {
		t.Errorf("tags: %s, want %s", got, want)
	}
	if n := indextest.Strings(t, db.w, `SELECT count(*) FROM tag_events WHERE digest IS NULL`); n[0] != "0" {
		t.Errorf("%s gone events, want none", n[0])
	}
}
