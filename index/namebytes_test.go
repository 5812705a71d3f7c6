package index

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

// TestLayerNameBytes: each layer records the bytes of its entries' paths
// and link targets, the in-memory visibility's second bound; a layer indexed
// before the column existed has them summed from its entries, to the same
// figure.
func TestLayerNameBytes(t *testing.T) {
	long := "/opt/" + strings.Repeat("x", 3000)
	a := []Entry{{Path: "/opt", Type: TypeDir}, {Path: long, Type: TypeFile}, {Path: "/opt/l", Type: TypeSymlink, Linkname: long}}
	b := []Entry{{Path: "/opt/.wh." + strings.Repeat("x", 3000), Type: TypeWhiteout}}
	db := putStack(t, false, [][]Entry{a, b}, 0, 1)
	want := int64(len("/opt") + 2*len(long) + len("/opt/l") + len("/opt/.wh.") + 3000)
	ctx := context.Background()
	var spans []layerSpan
	rows, err := db.Reader().QueryContext(ctx, `SELECT id, first_entry, last_entry FROM layers ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s layerSpan
		if err := rows.Scan(&s.id, &s.first, &s.last); err != nil {
			t.Fatal(err)
		}
		spans = append(spans, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	got := func() int64 {
		t.Helper()
		var n int64
		err := db.inTx(ctx, func(tx *sql.Tx) (err error) { n, err = spanNameBytes(ctx, tx, spans); return err })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The whiteout's path is the one it deletes, as stored.
	var stored int64
	if err := db.Reader().QueryRow(`SELECT sum(name_bytes) FROM layers`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if g := got(); g != stored || stored < want-int64(len(".wh.")) || stored > want {
		t.Errorf("name bytes: recorded %d, summed %d, want about %d", stored, g, want)
	}
	if err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE layers SET name_bytes = NULL`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if g := got(); g != stored {
		t.Errorf("name bytes of layers indexed before: summed %d, recorded %d", g, stored)
	}
}
