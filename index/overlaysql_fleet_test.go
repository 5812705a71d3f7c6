package index_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/fleettest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fleettest.Cleanup()
	os.Exit(code)
}

// TestVisibilityByPathFleet computes every fleet image's hidden entries both
// ways (Overlay in memory, and in path order from SQLite's sorter) and
// checks that they agree with each other and with what the scan stored.
func TestVisibilityByPathFleet(t *testing.T) {
	src := fleettest.Index(t)
	dst := filepath.Join(t.TempDir(), "fleet.db")
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(src+suffix, dst+suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	db, err := index.Open(context.Background(), dst)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mem, byPath, stored, err := index.VisibilityBothWays(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if len(mem) < 10 {
		t.Fatalf("only %d images in the fleet index", len(mem))
	}
	hidden := 0
	for digest, want := range mem {
		hidden += len(want.Hidden)
		if got := byPath[digest]; !got.Equal(want) {
			t.Errorf("image %s: path order hides %d entries and moves %d, Overlay %d and %d:\n got %v\nwant %v", digest,
				len(got.Hidden), len(got.Moved), len(want.Hidden), len(want.Moved), got, want)
		}
		// Stored are only the hardlinks whose own row says otherwise.
		if got := stored[digest]; !(index.Visibility{Hidden: got.Hidden, Moved: got.Moved}).Equal(index.Visibility{Hidden: want.Hidden, Moved: want.Moved}) {
			t.Errorf("image %s: %d hidden and %d moved rows stored, Overlay hides %d and moves %d", digest,
				len(got.Hidden), len(got.Moved), len(want.Hidden), len(want.Moved))
		}
	}
	if hidden == 0 {
		t.Error("no image of the fleet hides anything: the comparison proves nothing")
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
