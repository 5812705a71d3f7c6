package index

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/internal/indextest"
)

// TestFleetDriftCounts: the counts RecordFleetFiles keeps for
// system-binary-fleet-drift, added image by image, are those counted from
// scratch, and an image indexed again has its files counted once.
func TestFleetDriftCounts(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	base := testLayer("sha256:base", "/usr/bin/ls", "/etc/motd", "/lib/x86_64/libc.so")
	top := testLayer("sha256:top", "/usr/bin/ls", "/opt/app")
	top.Entries[0].SHA256 = "bb"
	for _, l := range []*Layer{base, top} {
		if err := db.PutLayer(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	repo := Repo{Registry: "r.example.com", Name: "app"}
	put := func(digest string, layers ...string) {
		t.Helper()
		if err := db.PutImage(ctx, repo, "", &Image{Digest: digest, MediaType: "application/vnd.oci.image.manifest.v1+json", Layers: layers}); err != nil {
			t.Fatal(err)
		}
	}
	counts := func() string {
		t.Helper()
		return strings.Join(indextest.Strings(t, db.w, `SELECT base_digest || ' ' || path || ' ' || COALESCE(sha256, '-') || ' ' || images
			FROM fleet_drift ORDER BY 1`), "\n")
	}
	record := func() {
		t.Helper()
		if err := db.RecordFleetFiles(ctx, 1, []string{"/usr/bin/"}); err != nil {
			t.Fatal(err)
		}
	}
	put("sha256:img1", "sha256:base")
	record()
	put("sha256:img2", "sha256:base", "sha256:top")
	put("sha256:img3", "sha256:base")
	record()
	want := "sha256:base /lib/x86_64/libc.so aa/lib/x86_64/libc.so 3\nsha256:base /usr/bin/ls aa/usr/bin/ls 2\nsha256:base /usr/bin/ls bb 1"
	if got := counts(); got != want {
		t.Errorf("counts added image by image:\n%s\nwant\n%s", got, want)
	}
	// Counted again from scratch (as after a visibility recomputed).
	if _, err := db.w.ExecContext(ctx, `DELETE FROM fleet_drift_manifests`); err != nil {
		t.Fatal(err)
	}
	record()
	if got := counts(); got != want {
		t.Errorf("counts from scratch:\n%s\nwant\n%s", got, want)
	}
	// img1 indexed again (as a new reader or config version does): counted once.
	put("sha256:img1", "sha256:base")
	if _, err := db.w.ExecContext(ctx, `UPDATE manifests SET indexed_at = 'later' WHERE digest = 'sha256:img1'`); err != nil {
		t.Fatal(err)
	}
	record()
	if got := counts(); got != want {
		t.Errorf("counts after img1 was indexed again:\n%s\nwant\n%s", got, want)
	}
}
