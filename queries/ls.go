package queries

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
)

// LsOptions say what Ls lists.
type LsOptions struct {
	Path      string // list this path and everything under it; "" or "/" for all
	AllLayers bool   // every layer's entries, hidden ones marked
	Layer     int    // >= 0: only what this layer changed
}

// Ls lists an image's filesystem under o.Path like ls -lR: by default what
// the final filesystem shows; with AllLayers every entry of every layer
// and why it is hidden; with Layer N the changes layer N made (added,
// modified, deleted). A path with nothing at or under it is an error
// wrapping ErrNotInImage.
func Ls(ctx context.Context, db Querier, im *Image, o LsOptions) (*Result, error) {
	dir := CleanPath(o.Path)
	if o.Layer >= 0 {
		n, err := layerCount(ctx, db, im.Digest)
		if err != nil {
			return nil, err
		}
		if int64(o.Layer) >= n {
			return nil, fmt.Errorf("image %s has %d layers (0 to %d): no layer %d", im.Name(), n, n-1, o.Layer)
		}
	}
	final := !o.AllLayers && o.Layer < 0
	entries, err := Entries(ctx, db, im, dir, final)
	if err != nil {
		return nil, err
	}
	// In the final filesystem, follow symlinks the way the kernel would:
	// "/bin/bash" when /bin -> usr/bin, or "/bin/" for the directory itself.
	if final && dir != "/" && (len(entries) == 0 || strings.HasSuffix(o.Path, "/") && len(entries) == 1 && entries[0].Type == "symlink") {
		if resolved, _, err := resolvePath(ctx, db, im, dir); err == nil && resolved != dir {
			dir = resolved
			if entries, err = Entries(ctx, db, im, dir, true); err != nil {
				return nil, err
			}
		}
	}
	if len(entries) == 0 && dir != "/" {
		return nil, fmt.Errorf("%w: %s has nothing at %s", ErrNotInImage, im.Name(), dir)
	}
	switch {
	case o.Layer >= 0:
		return layerResult(LayerChanges(entries)[int64(o.Layer)]), nil
	case o.AllLayers:
		return entriesResult(entries, true), nil
	}
	return entriesResult(entries, false), nil
}

func layerCount(ctx context.Context, db Querier, digest string) (int64, error) {
	var n int64
	if err := QueryRow(ctx, db, `SELECT count(*) FROM image_layers WHERE image_digest = ?`, digest).Scan(&n); err != nil {
		return 0, fmt.Errorf("layers of %s: %w", digest, err)
	}
	return n, nil
}

// field is one output column of an entry and how to get its value.
type field struct {
	col Column
	val func(e *Entry) any
}

// entryFields are the columns of an entry listing; layers adds where each
// entry sits and whether the image shows it.
func entryFields(layers bool) []field {
	var fs []field
	if layers {
		fs = append(fs, field{Column{Name: "layer_position", Head: "LAYER", Right: true}, func(e *Entry) any { return e.Layer }})
	}
	fs = append(fs,
		field{Column{Name: "mode_string", Head: "MODE", TableOnly: true}, func(e *Entry) any { return e.shownMode() }},
		field{Column{Name: "owner", Head: "OWNER", TableOnly: true}, func(e *Entry) any { return owner(e.Uname, e.UID) }},
		field{Column{Name: "group", Head: "GROUP", TableOnly: true}, func(e *Entry) any { return owner(e.Gname, e.GID) }},
		field{Column{Name: "size", Head: "SIZE", Right: true}, func(e *Entry) any { return e.Size }},
		field{Column{Name: "mtime_string", Head: "MTIME", TableOnly: true}, func(e *Entry) any { return mtimeString(e.MTime) }},
		field{Column{Name: "shown_path", Head: "PATH", TableOnly: true}, func(e *Entry) any { return e.shownPath() }},
	)
	if layers {
		fs = append(fs, field{Column{Name: "status", Head: "STATUS", TableOnly: true},
			func(e *Entry) any { return Status(e.Visible, e.HiddenBy, e.HiddenHow) }})
	}
	fs = append(fs,
		field{Column{Name: "path", NoTable: true}, func(e *Entry) any { return e.Path }},
		field{Column{Name: "type", NoTable: true}, func(e *Entry) any { return e.Type }},
		field{Column{Name: "mode", NoTable: true}, func(e *Entry) any { return e.Mode }},
		field{Column{Name: "uid", NoTable: true}, func(e *Entry) any { return e.UID }},
		field{Column{Name: "gid", NoTable: true}, func(e *Entry) any { return e.GID }},
		field{Column{Name: "uname", NoTable: true}, func(e *Entry) any { return e.Uname }},
		field{Column{Name: "gname", NoTable: true}, func(e *Entry) any { return e.Gname }},
		field{Column{Name: "mtime", NoTable: true}, func(e *Entry) any { return nullable(e.MTime) }},
		field{Column{Name: "sha256", NoTable: true}, func(e *Entry) any { return nullable(e.SHA256) }},
		field{Column{Name: "linkname", NoTable: true}, func(e *Entry) any { return nullable(e.Linkname) }},
		field{Column{Name: "kind", NoTable: true}, func(e *Entry) any { return nullable(e.Kind) }},
		field{Column{Name: "capabilities", NoTable: true}, func(e *Entry) any { return nullable(e.Capabilities) }},
	)
	if !layers {
		fs = append(fs, field{Column{Name: "layer_position", NoTable: true}, func(e *Entry) any { return e.Layer }})
	}
	fs = append(fs, field{Column{Name: "layer_digest", NoTable: true}, func(e *Entry) any { return e.LayerDigest }})
	if layers {
		fs = append(fs,
			field{Column{Name: "visible", NoTable: true}, func(e *Entry) any { return e.Visible }},
			field{Column{Name: "hidden_by_position", NoTable: true}, func(e *Entry) any { return nullable(e.HiddenBy) }},
			field{Column{Name: "hidden_how", NoTable: true}, func(e *Entry) any { return nullable(e.HiddenHow) }},
		)
	}
	// The owning packages last, so that the columns before keep their
	// places.
	fs = append(fs, field{Column{Name: "package", Head: "PACKAGE", Show: dashNull}, func(e *Entry) any { return nullable(e.Package) }})
	return fs
}

func columnsOf(fs []field) []Column {
	cols := make([]Column, len(fs))
	for i, f := range fs {
		cols[i] = f.col
	}
	return cols
}

func rowOf(fs []field, e *Entry) []any {
	row := make([]any, len(fs))
	for i, f := range fs {
		row[i] = f.val(e)
	}
	return row
}

func entriesResult(entries []Entry, layers bool) *Result {
	fs := entryFields(layers)
	res := &Result{Columns: columnsOf(fs)}
	for i := range entries {
		res.Rows = append(res.Rows, rowOf(fs, &entries[i]))
	}
	return res
}

func layerResult(changes []Change) *Result {
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Entry.Path < changes[j].Entry.Path })
	fs := entryFields(false)
	cols := append([]Column{{Name: "change", Head: "CHANGE"}}, columnsOf(fs)...)
	res := &Result{Columns: append(cols, Column{Name: "prior_layer", NoTable: true})}
	for _, c := range changes {
		var prior any
		if c.Prior != nil {
			prior = c.Prior.Layer
		}
		row := append([]any{c.Kind}, rowOf(fs, &c.Entry)...)
		res.Rows = append(res.Rows, append(row, prior))
	}
	return res
}

func mtimeString(t sql.Null[int64]) string {
	if !t.Valid {
		return "-"
	}
	return time.Unix(t.V, 0).UTC().Format("2006-01-02 15:04")
}
