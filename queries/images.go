package queries

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// ImageRow is one indexed platform image of one repository.
type ImageRow struct {
	Registry, Repository string
	Tags                 []string
	Digest, IndexDigest  string
	Platform             string
	Created              sql.Null[string]
	LastSeen             string // when a scan last saw it in the repository
	Layers               int64
	Size                 int64 // compressed layer bytes, as stored in the registry
	UncompressedSize     int64
	Files                int64           // entries its final filesystem shows
	Findings             sql.Null[int64] // open findings; NULL when no rules ran
}

// Images lists the indexed images whose repository, tag or digest matches
// pattern (a glob where * matches anything, or a substring; "" for all).
func Images(ctx context.Context, db Querier, pattern string) ([]ImageRow, error) {
	if pattern != "" && !strings.ContainsAny(pattern, "*?[") {
		pattern = "*" + pattern + "*"
	}
	rows, err := db.QueryContext(ctx, query("images"), pattern)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	defer rows.Close()
	var out []ImageRow
	for rows.Next() {
		var r ImageRow
		var os, arch, variant string
		if err := rows.Scan(&r.Registry, &r.Repository, &r.Digest, &r.IndexDigest, &os, &arch, &variant,
			&r.Created, &r.LastSeen, &r.Layers, &r.Size, &r.UncompressedSize, &r.Files); err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
		r.Platform = Platform(os, arch, variant)
		out = append(out, r)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	hasFindings, err := hasRelation(ctx, db, "findings")
	if err != nil {
		return nil, err
	}
	tags := tagCache{db: db}
	defer tags.close()
	for i := range out {
		r := &out[i]
		if r.Tags, err = tags.get(ctx, r.Registry, r.Repository, r.Digest, r.IndexDigest); err != nil {
			return nil, err
		}
		if hasFindings {
			r.Findings.Valid = true
			if err := QueryRow(ctx, db, query("image_findings"), r.Digest).Scan(&r.Findings.V); err != nil {
				return nil, fmt.Errorf("findings of %s/%s@%s: %w", r.Registry, r.Repository, r.Digest, err)
			}
		}
	}
	return out, nil
}

// hasRelation reports whether the index has a table or view of that name
// (views added by later schema versions, such as findings).
func hasRelation(ctx context.Context, db Querier, name string) (bool, error) {
	_, err := Columns(ctx, db, name)
	return err == nil, nil
}

// ImagesResult is the output of Images.
func ImagesResult(rows []ImageRow) *Result {
	res := &Result{Columns: []Column{
		{Name: "registry", NoTable: true},
		{Name: "repository", NoTable: true},
		{Name: "image", Head: "IMAGE", TableOnly: true},
		{Name: "tags", Head: "TAGS", Max: 30, Show: tagsShown},
		{Name: "digest", Head: "DIGEST", Show: ShortDigest},
		{Name: "index_digest", NoTable: true},
		{Name: "platform", Head: "PLATFORM"},
		{Name: "created", Head: "CREATED", Show: dateOnly},
		{Name: "layers", Head: "LAYERS", Right: true},
		{Name: "files", Head: "FILES", Right: true},
		{Name: "size", Head: "SIZE", Right: true, Show: HumanSize},
		{Name: "uncompressed_size", NoTable: true},
		{Name: "last_seen", Head: "LAST SCANNED", Show: dateTime},
		{Name: "findings", Head: "FINDINGS", Right: true, Show: dashNull},
	}}
	for _, r := range rows {
		var idx any
		if r.IndexDigest != "" {
			idx = r.IndexDigest
		}
		res.Rows = append(res.Rows, []any{r.Registry, r.Repository, r.Registry + "/" + r.Repository, r.Tags,
			r.Digest, idx, r.Platform, nullable(r.Created), r.Layers, r.Files, r.Size, r.UncompressedSize,
			r.LastSeen, nullable(r.Findings)})
	}
	return res
}

// dateOnly shows the date of an RFC 3339 time in tables.
func dateOnly(v any, o TableOptions) string {
	s, ok := v.(string)
	if !ok {
		return dashNull(v, o)
	}
	if len(s) >= 10 && !o.NoTrunc {
		return s[:10]
	}
	return s
}

// dateTime shows an RFC 3339 time to the second in tables.
func dateTime(v any, o TableOptions) string {
	s, ok := v.(string)
	if !ok {
		return dashNull(v, o)
	}
	if len(s) >= 19 && !o.NoTrunc {
		return strings.Replace(s[:19], "T", " ", 1)
	}
	return s
}

// dashNull shows NULL as "-" in the canned tables.
// tagsShown shows an image's current tags in tables, or that it has none:
// its tags moved away or were deleted, or it was only scanned by digest.
func tagsShown(v any, _ TableOptions) string {
	if tags, ok := v.([]string); ok && len(tags) == 0 {
		return "(untagged)"
	}
	return Cell(v)
}

func dashNull(v any, _ TableOptions) string {
	if v == nil {
		return "-"
	}
	return Cell(v)
}
