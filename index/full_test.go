package index

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// fillUp limits db's writer to its current size plus spare pages
// (max_page_count: SQLite then fails writes with SQLITE_FULL, as on a full
// disk) and returns a function that gives space back.
func fillUp(t *testing.T, db *DB, spare int) (giveBack func()) {
	t.Helper()
	ctx := context.Background()
	var pages int
	if err := db.w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+spare)); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := db.w.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
			t.Fatal(err)
		}
	}
}

func scanRecord(t *testing.T, db *DB, id int64) (status string, errs int, msgs []string) {
	t.Helper()
	if err := db.r.QueryRow(`SELECT status FROM scans WHERE id = ?`, id).Scan(&status); err != nil {
		t.Fatal(err)
	}
	rows, err := db.r.Query(`SELECT message FROM scan_errors WHERE scan_id = ? ORDER BY message`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		rows.Scan(&m)
		msgs = append(msgs, m)
	}
	return status, len(msgs), msgs
}

// TestDiskFull: errors a full disk kept AddScanError from writing are
// written by FinishScan, with the scan's status, once there is space:
// either the space of the unfinished layer it removes, or space given back
// after a FinishScan that failed.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"unfinished layer", "space given back"} {
		t.Run(how, func(t *testing.T) {
			db, err := Open(ctx, filepath.Join(t.TempDir(), "full.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			id, err := db.BeginScan(ctx, "r", "test")
			if err != nil {
				t.Fatal(err)
			}
			spare := 16 // pages of 4 KiB
			if how == "unfinished layer" {
				spare = 6000 // room for a chunk of entries (some 8 MB), not two
			}
			giveBack := fillUp(t, db, spare)
			if how == "unfinished layer" {
				// A layer's rows fill the disk and stay, as after a crash
				// of the writer (Abort is not called).
				w, err := db.BeginLayer(ctx, "sha256:"+strings.Repeat("f", 64), 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; err == nil && i < 1<<20; i++ {
					err = w.Add(ctx, Entry{Path: fmt.Sprintf("/d/%0200d", i), Type: TypeFile, SHA256: fmt.Sprintf("%064x", i)})
				}
				if !IsFull(err) {
					t.Fatalf("filling the disk with a layer: %v, want SQLITE_FULL", err)
				}
			}
			// Errors until the disk is full, and some after.
			recorded, kept := 0, 0
			for i := 0; kept < 3; i++ {
				err := db.AddScanError(ctx, id, ScanError{Registry: "r", Message: fmt.Sprintf("error %04d %s", i, strings.Repeat("x", 2000))})
				switch {
				case err == nil:
					recorded++
				case IsFull(err):
					kept++
				default:
					t.Fatal(err)
				}
			}
			if !db.Full() {
				t.Error("Full() is false after SQLITE_FULL")
			}
			err = db.FinishScan(ctx, id, ScanFailed, ScanStats{Errors: int64(recorded + kept)})
			if how == "space given back" {
				if !IsFull(err) {
					t.Fatalf("FinishScan on a full disk: %v, want SQLITE_FULL", err)
				}
				if status, _, _ := scanRecord(t, db, id); status != ScanRunning {
					t.Fatalf("a failed FinishScan left status %s", status)
				}
				giveBack()
				err = db.FinishScan(ctx, id, ScanFailed, ScanStats{Errors: int64(recorded + kept)})
			}
			if err != nil {
				t.Fatalf("FinishScan: %v", err)
			}
			status, n, msgs := scanRecord(t, db, id)
			if status != ScanFailed || n != recorded+kept {
				t.Fatalf("scan recorded %s with %d errors, want failed with %d (%d written at once, %d kept)", status, n, recorded+kept, recorded, kept)
			}
			for i, m := range msgs {
				if !strings.HasPrefix(m, fmt.Sprintf("error %04d ", i)) {
					t.Fatalf("error %d is %.12q", i, m)
				}
			}
		})
	}
}
