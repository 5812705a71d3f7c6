package queries

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/auditor-dev/auditor/index"
)

// Since is the point fleet changes are counted from: what scans after
// scan Scan recorded, which started at or after Time.
type Since struct {
	Scan int64  // changes come from scans with a higher id
	Time string // RFC 3339; changes were first seen after it
	None bool   // no scan came after: nothing can have changed
}

// SinceScan is the point after scan n. Errors name a scan that does not
// exist.
func SinceScan(ctx context.Context, db Querier, n int64) (Since, error) {
	var next sql.Null[string]
	var exists int
	if err := QueryRow(ctx, db, query("scan_after"), n).Scan(&next, &exists); err != nil {
		return Since{}, fmt.Errorf("scans: %w", err)
	}
	if exists == 0 {
		return Since{}, fmt.Errorf("no scan %d in the index (SELECT id, started, status FROM scans)", n)
	}
	return Since{Scan: n, Time: next.V, None: !next.Valid}, nil
}

// SinceTime is the point at t: the changes of scans that started after it.
func SinceTime(ctx context.Context, db Querier, t time.Time) (Since, error) {
	ts := t.UTC().Format(index.TimeFormat)
	var n, after int64
	if err := QueryRow(ctx, db, query("scan_before"), ts).Scan(&n, &after); err != nil {
		return Since{}, fmt.Errorf("scans: %w", err)
	}
	return Since{Scan: n, Time: ts, None: after == 0}, nil
}

// ChangeRow is one change in the fleet.
type ChangeRow struct {
	Change               string // new-image, new-tag, moved-tag, deleted-tag, new-file, new-finding
	Registry, Repository string
	Tag                  string
	ImageDigest          string
	Previous             string // moved-tag: the digest the tag pointed at before
	Platform             string
	Path                 string
	Detail               string
}

// FleetChanges lists what changed in the fleet since s: images repositories
// first held, tags that appeared, moved or were deleted, paths no earlier
// image had (visible, not directories), and, when rules have run, new
// findings.
func FleetChanges(ctx context.Context, db Querier, s Since) ([]ChangeRow, error) {
	if s.None {
		return nil, nil
	}
	var out []ChangeRow
	err := scanRows(ctx, db, "changes_images", []any{s.Time}, func(rows *sql.Rows) error {
		var r ChangeRow
		var idx, os, arch, variant string
		if err := rows.Scan(&r.Registry, &r.Repository, &r.ImageDigest, &idx, &os, &arch, &variant); err != nil {
			return err
		}
		r.Change, r.Platform = "new-image", Platform(os, arch, variant)
		if idx != "" {
			r.Detail = "in index " + idx
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = scanRows(ctx, db, "changes_tags", []any{s.Time}, func(rows *sql.Rows) error {
		var r ChangeRow
		var now, before sql.Null[string]
		if err := rows.Scan(&r.Registry, &r.Repository, &r.Tag, &now, &before); err != nil {
			return err
		}
		switch {
		case now == before:
			return nil // moved away and back, or came and went
		case !before.Valid:
			r.Change, r.ImageDigest = "new-tag", now.V
		case !now.Valid:
			r.Change, r.ImageDigest = "deleted-tag", before.V
		default:
			r.Change, r.ImageDigest, r.Previous = "moved-tag", now.V, before.V
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	files, err := newFiles(ctx, db, s.Time)
	if err != nil {
		return nil, err
	}
	out = append(out, files...)
	ok, err := hasRelation(ctx, db, "findings")
	if err != nil || !ok {
		return out, err
	}
	err = scanRows(ctx, db, "changes_findings", []any{s.Scan}, func(rows *sql.Rows) error {
		var r ChangeRow
		var sev, rule, title, detail string
		if err := rows.Scan(&r.Registry, &r.Repository, &r.ImageDigest, &r.Path, &sev, &rule, &title, &detail); err != nil {
			return err
		}
		r.Change = "new-finding"
		r.Detail = sev + " " + rule + ": " + title
		if detail != "" {
			r.Detail += " (" + detail + ")"
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// scanRows runs a canned query and calls fn for each row.
func scanRows(ctx context.Context, db Querier, name string, args []any, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, query(name), args...)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// ChangesResult is the output of FleetChanges.
func ChangesResult(rows []ChangeRow) *Result {
	res := &Result{Columns: []Column{
		{Name: "change", Head: "CHANGE"},
		{Name: "registry", NoTable: true},
		{Name: "repository", NoTable: true},
		{Name: "image", Head: "IMAGE", TableOnly: true},
		{Name: "tag", Head: "TAG", Show: dashNull},
		{Name: "image_digest", Head: "DIGEST", Show: ShortDigest},
		{Name: "previous_digest", Head: "WAS", Show: ShortDigest},
		{Name: "platform", Head: "PLATFORM", Show: dashNull},
		{Name: "path", Head: "PATH", Show: dashNull},
		{Name: "detail", Head: "DETAIL", Max: 80},
	}}
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	for _, r := range rows {
		image := r.Registry + "/" + r.Repository
		res.Rows = append(res.Rows, []any{r.Change, str(r.Registry), str(r.Repository), image, str(r.Tag),
			str(r.ImageDigest), str(r.Previous), str(r.Platform), str(r.Path), r.Detail})
	}
	return res
}

// newFiles lists the paths that images new since t show and no earlier
// image did, one row per path: the first new image (by name) that has it,
// how many new images do, and its content hash when they all agree.
func newFiles(ctx context.Context, db Querier, t string) ([]ChangeRow, error) {
	var digests []string
	err := scanRows(ctx, db, "changes_new_images", []any{t}, func(rows *sql.Rows) error {
		var d string
		if err := rows.Scan(&d); err != nil {
			return err
		}
		digests = append(digests, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	type seen struct {
		first  string // registry/repository@digest, the least
		typ    string
		images map[string]bool
		hashes map[string]bool
	}
	byPath := map[string]*seen{}
	for _, d := range digests {
		err := scanRows(ctx, db, "changes_files", []any{t, d}, func(rows *sql.Rows) error {
			var p, reg, repo, typ string
			var sha sql.Null[string]
			if err := rows.Scan(&p, &reg, &repo, &typ, &sha); err != nil {
				return err
			}
			x := byPath[p]
			if x == nil {
				x = &seen{typ: typ, images: map[string]bool{}, hashes: map[string]bool{}}
				byPath[p] = x
			}
			if name := reg + "/" + repo + "@" + d; x.first == "" || name < x.first {
				x.first = name
			}
			x.images[d] = true
			if sha.Valid {
				x.hashes[sha.V] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := make([]ChangeRow, 0, len(paths))
	for _, p := range paths {
		x := byPath[p]
		r := ChangeRow{Change: "new-file", Path: p}
		name, digest, _ := strings.Cut(x.first, "@")
		r.ImageDigest = digest
		r.Registry, r.Repository, _ = strings.Cut(name, "/")
		r.Detail = fmt.Sprintf("%s in %d new image(s)", x.typ, len(x.images))
		switch len(x.hashes) {
		case 0:
		case 1:
			for h := range x.hashes {
				r.Detail += ", sha256 " + h
			}
		default:
			r.Detail += fmt.Sprintf(", %d different contents", len(x.hashes))
		}
		out = append(out, r)
	}
	return out, nil
}
