package index

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path"
	"strings"

	"modernc.org/sqlite"

	"github.com/auditor-dev/auditor/overlay"
)

// DefaultOverlayInMemoryMax is the most entries (over all its layers) an
// image may have for PutImage to compute its visibility with overlay.Compute in
// memory: fast, but about 120 bytes an entry, so some 30 MB at most. Larger
// images are computed in path order from SQLite's sorter, whose memory is
// bounded (it spills to temporary files), so that a scan's memory does not
// grow with the number of files in an image.
const DefaultOverlayInMemoryMax = 1 << 18

// DefaultOverlayInMemoryMaxBytes bounds the path and link-target bytes of
// an image whose visibility is computed in memory (the tree holds each
// name once): 64 MiB, about 250 bytes for each of 262,144 entries; an image
// of fewer entries with longer names (a hostile one: 4096-byte names) goes
// through SQLite's sorter instead.
const DefaultOverlayInMemoryMaxBytes = 64 << 20

// overlayInMemoryMaxBytes returns the DB's OverlayInMemoryMaxBytes or its
// default.
func (db *DB) overlayInMemoryMaxBytes() int64 {
	if db.OverlayInMemoryMaxBytes > 0 {
		return db.OverlayInMemoryMaxBytes
	}
	return DefaultOverlayInMemoryMaxBytes
}

// overlayInMemoryMax returns the DB's OverlayInMemoryMax or its default.
func (db *DB) overlayInMemoryMax() int64 {
	switch n := db.OverlayInMemoryMax; {
	case n == 0:
		return DefaultOverlayInMemoryMax
	case n < 0:
		return -1
	default:
		return n
	}
}

// The writer's connections sort an image's entries by
// overlay_path_key(path), a BLOB in the order overlay.PathKey gives.
func init() {
	err := sqlite.RegisterDeterministicScalarFunction("overlay_path_key", 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			s, ok := text(args[0])
			if !ok {
				return nil, fmt.Errorf("overlay_path_key: path is %T", args[0])
			}
			return overlay.PathKey(s), nil
		})
	if err != nil {
		panic(err) // only for a name registered twice: a programming error
	}
}

// overlaySorted computes the entries image manifestID hides, from its
// manifest_layers rows already written in tx, reading its entries sorted by
// path, and passes each to out, with the entries that land elsewhere than
// their tar path. SQLite's sorter keeps up to about the writer's page cache
// (8 MiB, see dsn) in memory before it spills to temporary files. Entries
// beneath the image's symlinks (and those that decide the links' fate) are
// read once more, in layer order, to resolve where they land, with the
// hardlinks and what they link (overlay.LinkSubset):
// their memory grows with their number, which in real images is small.
func overlaySorted(ctx context.Context, tx *sql.Tx, manifestID int64, out visibilityOut) error {
	moves, inodes, err := sortedLinks(ctx, tx, manifestID)
	if err != nil {
		return fmt.Errorf("visibility: %w", err)
	}
	// CROSS JOIN keeps the plan: each layer's entries by rowid range, then
	// their paths by id; the sorter does the rest.
	rows, err := tx.QueryContext(ctx, `SELECT overlay_path_key(p.path), ml.position, e.id, e.type
		FROM manifest_layers ml CROSS JOIN layers l CROSS JOIN entries e CROSS JOIN paths p
		WHERE ml.manifest_id = ? AND l.id = ml.layer_id AND e.id BETWEEN l.first_entry AND l.last_entry
			AND p.id = e.path_id
		ORDER BY 1`, manifestID)
	if err != nil {
		return fmt.Errorf("visibility: %w", err)
	}
	defer rows.Close()
	err = overlay.Sorted(moves, func(r *overlay.PathRow) (bool, error) {
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return false, fmt.Errorf("visibility: %w", err)
			}
			return false, nil
		}
		if err := rows.Scan(&r.Key, &r.Pos, &r.ID, &r.Type); err != nil {
			return false, fmt.Errorf("visibility: %w", err)
		}
		return true, nil
	}, out.add)
	if err != nil {
		return err
	}
	for _, m := range moves {
		if err := out.addMoved(m); err != nil {
			return err
		}
	}
	for _, in := range inodes {
		if err := out.addInode(in); err != nil {
			return err
		}
	}
	return nil
}

// sortedLinks returns the entries of image manifestID that land elsewhere
// than their tar path and the files its hardlinks link (overlay.LinkSubset),
// reading only what overlay.LinkSubset needs.
func sortedLinks(ctx context.Context, tx *sql.Tx, manifestID int64) ([]overlay.Moved, []overlay.Inode, error) {
	rows, err := tx.QueryContext(ctx, `SELECT e.type, p.path, COALESCE(e.linkname, '')
		FROM manifest_layers ml CROSS JOIN layers l CROSS JOIN entries e CROSS JOIN paths p
		WHERE ml.manifest_id = ? AND l.id = ml.layer_id AND e.id BETWEEN l.first_entry AND l.last_entry
			AND e.type IN (?, ?) AND p.id = e.path_id`, manifestID, TypeSymlink, TypeHardlink)
	if err != nil {
		return nil, nil, err
	}
	var links, targets []string
	for rows.Next() {
		var typ EntryType
		var p, link string
		if err := rows.Scan(&typ, &p, &link); err != nil {
			rows.Close()
			return nil, nil, err
		}
		if typ == TypeSymlink {
			links = append(links, p)
		} else {
			targets = append(targets, p, path.Clean("/"+link))
		}
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	if len(links) == 0 && len(targets) == 0 {
		return nil, nil, nil
	}
	return overlay.LinkSubset(links, targets, func(keep func(string) bool) ([][]overlay.Entry, error) {
		rows, err := tx.QueryContext(ctx, `SELECT ml.position, e.id, p.path, e.type,
				CASE WHEN e.type IN (?, ?) THEN COALESCE(e.linkname, '') ELSE '' END
			FROM manifest_layers ml CROSS JOIN layers l CROSS JOIN entries e CROSS JOIN paths p
			WHERE ml.manifest_id = ? AND l.id = ml.layer_id AND e.id BETWEEN l.first_entry AND l.last_entry AND p.id = e.path_id
			ORDER BY ml.position, e.id`, TypeSymlink, TypeHardlink, manifestID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var layers [][]overlay.Entry
		for rows.Next() {
			var pos int
			var e overlay.Entry
			if err := rows.Scan(&pos, &e.ID, &e.Path, &e.Type, &e.Link); err != nil {
				return nil, err
			}
			for len(layers) <= pos {
				layers = append(layers, nil)
			}
			if keep(e.Path) {
				layers[pos] = append(layers[pos], e)
			}
		}
		return layers, rows.Err()
	})
}

// hiddenBatch is how many hidden rows one INSERT writes, of hiddenColumns.
const hiddenBatch, hiddenColumns = 200, 5

// hiddenWriter inserts an image's hidden rows in batches.
type hiddenWriter struct {
	ctx        context.Context
	tx         *sql.Tx
	manifestID int64
	full       *sql.Stmt // inserts hiddenBatch rows
	args       []any
	inodes     []overlay.Inode // written at close, after the moved rows
}

func newHiddenWriter(ctx context.Context, tx *sql.Tx, manifestID int64) (*hiddenWriter, error) {
	full, err := tx.PrepareContext(ctx, hiddenInsert(hiddenBatch))
	if err != nil {
		return nil, err
	}
	return &hiddenWriter{ctx: ctx, tx: tx, manifestID: manifestID, full: full, args: make([]any, 0, hiddenColumns*hiddenBatch)}, nil
}

func hiddenInsert(n int) string {
	// OR IGNORE (never needed: each entry of each position is hidden once)
	// rather than a plain INSERT: no statement journal (see insertEntries).
	return `INSERT OR IGNORE INTO hidden (manifest_id, layer_position, entry_id, hidden_by_position, how) VALUES (?, ?, ?, ?, ?)` +
		strings.Repeat(`, (?, ?, ?, ?, ?)`, n-1)
}

func (w *hiddenWriter) add(h overlay.Hidden) error {
	w.args = append(w.args, w.manifestID, h.Pos, h.ID, h.By, int(h.How))
	if len(w.args) < cap(w.args) {
		return nil
	}
	_, err := w.full.ExecContext(w.ctx, w.args...)
	w.args = w.args[:0]
	return err
}

// addMoved records that an entry lands at another path than its tar's
// (rare: entries written through a symlinked directory).
func (w *hiddenWriter) addMoved(m overlay.Moved) error {
	if _, err := w.tx.ExecContext(w.ctx, `INSERT OR IGNORE INTO paths (path) VALUES (?)`, m.Path); err != nil {
		return err
	}
	_, err := w.tx.ExecContext(w.ctx, `INSERT OR REPLACE INTO moved (manifest_id, layer_position, entry_id, path_id)
		SELECT ?, ?, ?, id FROM paths WHERE path = ?`, w.manifestID, m.Pos, m.ID, m.Path)
	return err
}

// addInode records which file a hardlink links; close stores those whose
// own row does not already say what the file's does.
func (w *hiddenWriter) addInode(in overlay.Inode) error {
	w.inodes = append(w.inodes, in)
	return nil
}

// writeInodes stores, among the hardlinks of w.inodes, those whose entry
// differs from the file they link in content, mode, owner or capabilities,
// or that link something other than a regular file, as moved rows (at their
// own path when they are not moved). Size and kind come from the content.
func (w *hiddenWriter) writeInodes() error {
	for len(w.inodes) > 0 {
		n := min(len(w.inodes), hiddenBatch)
		b := []byte{'['}
		for i, in := range w.inodes[:n] {
			if i > 0 {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, "[%d,%d,%d]", in.Pos, in.ID, in.Target)
		}
		b = append(b, ']')
		_, err := w.tx.ExecContext(w.ctx, `INSERT INTO moved (manifest_id, layer_position, entry_id, path_id, inode_entry_id)
			SELECT ?1, j.value ->> 0, e.id, e.path_id, t.id
			FROM json_each(?2) j JOIN entries e ON e.id = j.value ->> 1 JOIN entries t ON t.id = j.value ->> 2
			WHERE t.type != 0 OR t.content_id IS NOT e.content_id OR t.mode != e.mode OR t.uid != e.uid OR t.gid != e.gid
			   OR t.uname IS NOT e.uname OR t.gname IS NOT e.gname OR t.capabilities IS NOT e.capabilities
			ON CONFLICT (manifest_id, layer_position, entry_id) DO UPDATE SET inode_entry_id = excluded.inode_entry_id`,
			w.manifestID, string(b))
		if err != nil {
			return fmt.Errorf("hardlinks: %w", err)
		}
		w.inodes = w.inodes[n:]
	}
	return nil
}

// close writes the rows left, if flush (else they are dropped: the
// transaction fails), and releases the statement.
func (w *hiddenWriter) close(flush bool) error {
	defer w.full.Close()
	if !flush {
		return nil
	}
	if len(w.args) > 0 {
		if _, err := w.tx.ExecContext(w.ctx, hiddenInsert(len(w.args)/hiddenColumns), w.args...); err != nil {
			return err
		}
		w.args = w.args[:0]
	}
	return w.writeInodes()
}
