package crawl_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/indextest"
)

// TestDeletedTagsGone: a tag deleted from the registry is gone after the
// next scan that lists its repository, and so are the tags of a repository
// left with none; a scan of one tag lists nothing, so marks nothing gone.
func TestDeletedTagsGone(t *testing.T) {
	reg := memRegistry(t)
	pushRandom(t, reg, "team/app:1", "team/app:2", "team/web:1")
	db := tempDB(t)
	scanAll := func(targets ...string) { t.Helper(); scanOK(t, db, targets...) }
	current := func() string { t.Helper(); return currentTags(t, db) }
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
	if got := indextest.Strings(t, db.Reader(), `SELECT count(*) FROM tags WHERE NOT current AND gone IS NOT NULL`); strings.Join(got, "") != "2" {
		t.Errorf("gone tags: %v, want 2", got)
	}
}

// hidingCatalog serves a registry whose catalog leaves out some repositories,
// as registries that filter it by permissions do; the repositories still
// answer.
type hidingCatalog struct {
	next   http.Handler
	mu     sync.Mutex
	hidden map[string]bool
}

func (h *hidingCatalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v2/_catalog" {
		h.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	var cat struct {
		Repositories []string `json:"repositories"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &cat); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h.mu.Lock()
	shown := []string{}
	for _, r := range cat.Repositories {
		if !h.hidden[r] {
			shown = append(shown, r)
		}
	}
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string][]string{"repositories": shown})
}

// TestCatalogMissingRepositories: a repository the catalog stops listing
// keeps its tags while the registry still lists them, loses the deleted
// ones, and one the registry no longer knows (404) is gone entirely.
func TestCatalogMissingRepositories(t *testing.T) {
	h := &hidingCatalog{next: registry.New(registry.Logger(log.New(io.Discard, "", 0))), hidden: map[string]bool{}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	reg := strings.TrimPrefix(srv.URL, "http://")
	pushRandom(t, reg, "team/app:1", "team/hidden:1", "team/hidden:2")
	db := tempDB(t)
	// A repository the index has tags of and the registry never had.
	if err := db.PutTag(context.Background(), auditor.Repo{Registry: reg, Name: "team/ghost"}, "1", "sha256:"+strings.Repeat("0", 64)); err != nil {
		t.Fatal(err)
	}
	current := func() string { t.Helper(); return currentTags(t, db) }
	scanAll := func() { t.Helper(); scanOK(t, db, reg) }
	h.mu.Lock()
	h.hidden["team/hidden"] = true
	h.mu.Unlock()
	scanAll()
	if got, want := current(), "team/app:1"; got != want {
		t.Fatalf("first scan, team/hidden out of the catalog: current tags %q, want %q", got, want)
	}
	h.mu.Lock()
	delete(h.hidden, "team/hidden")
	h.mu.Unlock()
	scanAll()
	h.mu.Lock()
	h.hidden["team/hidden"] = true
	h.mu.Unlock()
	if err := remote.Delete(mustTag(t, reg+"/team/hidden:2")); err != nil {
		t.Fatal(err)
	}
	scanAll()
	if got, want := current(), "team/app:1 team/hidden:1"; got != want {
		t.Errorf("team/hidden hidden from the catalog, :2 deleted: current tags %q, want %q", got, want)
	}
}

// pushRandom pushes a small random image at each repository:tag of reg.
func pushRandom(t *testing.T, reg string, refs ...string) {
	t.Helper()
	for _, ref := range refs {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		push(t, reg+"/"+ref, img)
	}
}

// scanOK scans targets into db and fails the test on any scan error.
func scanOK(t *testing.T, db *index.DB, targets ...string) {
	t.Helper()
	if _, errs := scanInto(t, db, crawl.Options{}, targets...); len(errs) > 0 {
		t.Fatalf("scan %v: %v", targets, errs)
	}
}

// currentTags lists the current tags of db as "repository:tag", sorted.
func currentTags(t *testing.T, db *index.DB) string {
	t.Helper()
	return strings.Join(indextest.Strings(t, db.Reader(), `SELECT repository || ':' || tag FROM tags WHERE current ORDER BY 1`), " ")
}
