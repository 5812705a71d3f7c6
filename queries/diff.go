package queries

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// DiffRow is one path that differs between two images' final filesystems.
type DiffRow struct {
	Change string   // added (only in B), removed (only in A), changed
	Path   string   //
	What   []string // for changed: type, sha256, mode, owner, size, link
	A, B   *Entry   // the entries in A and B; nil where absent
}

// Diff compares the final filesystems of images a and b under dir: paths
// only in b are added, only in a removed, and in both changed when type,
// content hash, mode, owner or link target differ (directory mtimes and
// file mtimes alone are no change). Sorted by path.
func Diff(ctx context.Context, db Querier, a, b *Image, dir string) ([]DiffRow, error) {
	ea, err := Entries(ctx, db, a, dir, true)
	if err != nil {
		return nil, err
	}
	eb, err := Entries(ctx, db, b, dir, true)
	if err != nil {
		return nil, err
	}
	// Visible entries are unique by path; keep the last to be safe.
	ma := map[string]*Entry{}
	for i := range ea {
		ma[ea[i].Path] = &ea[i]
	}
	mb := map[string]*Entry{}
	for i := range eb {
		mb[eb[i].Path] = &eb[i]
	}
	var out []DiffRow
	for p, x := range ma {
		y, ok := mb[p]
		if !ok && p == "/" {
			continue // the root exists in every image, with an entry or not
		}
		if !ok {
			out = append(out, DiffRow{Change: "removed", Path: p, A: x})
			continue
		}
		if what := differences(x, y); len(what) > 0 {
			out = append(out, DiffRow{Change: "changed", Path: p, What: what, A: x, B: y})
		}
	}
	for p, y := range mb {
		if _, ok := ma[p]; !ok && p != "/" {
			out = append(out, DiffRow{Change: "added", Path: p, B: y})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func differences(x, y *Entry) []string {
	var what []string
	if x.Type != y.Type {
		what = append(what, "type")
	}
	if x.SHA256 != y.SHA256 {
		what = append(what, "sha256")
	}
	if x.Mode != y.Mode {
		what = append(what, "mode")
	}
	if x.UID != y.UID || x.GID != y.GID {
		what = append(what, "owner")
	}
	if x.Size != y.Size && x.Type != "dir" {
		what = append(what, "size")
	}
	if x.Linkname != y.Linkname {
		what = append(what, "link")
	}
	if x.Capabilities != y.Capabilities {
		what = append(what, "capabilities")
	}
	return what
}

// DiffResult is the output of Diff.
func DiffResult(rows []DiffRow) *Result {
	res := &Result{Columns: []Column{
		{Name: "change", Head: "CHANGE"},
		{Name: "path", Head: "PATH"},
		{Name: "what", Head: "WHAT"},
		{Name: "detail", Head: "DETAIL", TableOnly: true},
		{Name: "a_type", NoTable: true}, {Name: "b_type", NoTable: true},
		{Name: "a_mode", NoTable: true}, {Name: "b_mode", NoTable: true},
		{Name: "a_uid", NoTable: true}, {Name: "b_uid", NoTable: true},
		{Name: "a_gid", NoTable: true}, {Name: "b_gid", NoTable: true},
		{Name: "a_size", NoTable: true}, {Name: "b_size", NoTable: true},
		{Name: "a_sha256", NoTable: true}, {Name: "b_sha256", NoTable: true},
		{Name: "a_linkname", NoTable: true}, {Name: "b_linkname", NoTable: true},
		{Name: "a_layer", NoTable: true}, {Name: "b_layer", NoTable: true},
	}}
	side := func(e *Entry) []any {
		if e == nil {
			return []any{nil, nil, nil, nil, nil, nil, nil, nil}
		}
		return []any{e.Type, e.Mode, e.UID, e.GID, e.Size, nullable(e.SHA256), nullable(e.Linkname), e.Layer}
	}
	for _, r := range rows {
		a, b := side(r.A), side(r.B)
		row := []any{r.Change, r.Path, r.What, diffDetail(r)}
		for i := range a {
			row = append(row, a[i], b[i])
		}
		res.Rows = append(res.Rows, row)
	}
	return res
}

// diffDetail says in one line what changed, for the table.
func diffDetail(r DiffRow) string {
	describe := func(e *Entry) string {
		s := e.Type + " " + fmt.Sprintf("%04o", e.Mode) + " " + fmt.Sprintf("%d:%d", e.UID, e.GID)
		switch {
		case e.SHA256.Valid:
			s += " " + shortHex(e.SHA256.V)
		case e.Linkname.Valid:
			s += " -> " + e.Linkname.V
		}
		return s
	}
	switch r.Change {
	case "added":
		return describe(r.B)
	case "removed":
		return describe(r.A)
	}
	var parts []string
	for _, w := range r.What {
		a, b := r.A, r.B
		switch w {
		case "type":
			parts = append(parts, "type "+a.Type+" → "+b.Type)
		case "sha256":
			parts = append(parts, "sha256 "+shortHex(a.SHA256.V)+" → "+shortHex(b.SHA256.V))
		case "mode":
			parts = append(parts, fmt.Sprintf("mode %04o → %04o", a.Mode, b.Mode))
		case "owner":
			parts = append(parts, fmt.Sprintf("owner %d:%d → %d:%d", a.UID, a.GID, b.UID, b.GID))
		case "size":
			parts = append(parts, fmt.Sprintf("size %d → %d", a.Size, b.Size))
		case "link":
			parts = append(parts, "link "+a.Linkname.V+" → "+b.Linkname.V)
		case "capabilities":
			parts = append(parts, "capabilities "+a.Capabilities.V+" → "+b.Capabilities.V)
		}
	}
	return strings.Join(parts, "; ")
}

func shortHex(h string) string {
	if h == "" {
		return "-"
	}
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
