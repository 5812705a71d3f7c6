package queries

import (
	"context"
	"database/sql"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/pathglob"
)

// FindOptions say what Find looks for.
type FindOptions struct {
	// Pattern is an exact path (/usr/bin/xz), a glob ('/usr/lib/**/libz.so*',
	// '*/authorized_keys', 'xmrig'), or a content hash (sha256:<hex>, a bare
	// 64-hex string, or sha256: and a prefix of at least 6 hex digits).
	Pattern     string
	Exact       bool // take Pattern as a path even if it has glob characters
	VisibleOnly bool
	HiddenOnly  bool
	Limit       int // at most this many rows; 0 means all
}

// FindRow is one file of one image.
type FindRow struct {
	Registry, Repository string
	Tags                 []string
	ImageDigest          string
	Platform             string
	Path, Type           string
	LayerPosition        int64
	LayerDigest          string
	Size, Mode, UID, GID int64
	SHA256, Linkname     sql.Null[string]
	Visible              bool
	HiddenBy             sql.Null[int64] // the layer that hides it
	HiddenHow            sql.Null[string]
	Package              sql.Null[string] // the owning packages of a visible file
}

// The kinds of lookup; each is a fixed condition for find.sql.
const (
	lookPath = "f.path = ?1"
	// Globs match the distinct paths first (the path_names view): through
	// image_files, a GLOB without a literal prefix would scan every entry.
	lookGlob      = "f.path IN (SELECT path FROM path_names WHERE path GLOB ?1)"
	lookHash      = "f.sha256 = ?1"
	lookHashStart = "f.sha256 >= ?1 AND f.sha256 < ?1 || 'g'" // hex sorts below 'g'; GLOB would scan entries
)

var (
	hashFull   = regexp.MustCompile(`^(sha256:)?[0-9a-fA-F]{64}$`)
	hashPrefix = regexp.MustCompile(`^sha256:[0-9a-fA-F]{6,63}$`)
)

// FindPlan is how Find will look a pattern up: the condition and its
// argument, and for globs the exact matcher applied after the SQL GLOB.
type FindPlan struct {
	Filter string
	Arg    string
	glob   []string // path segments of the glob; nil unless a glob
}

// PlanFind classifies a pattern.
func PlanFind(pattern string, exact bool) (FindPlan, error) {
	if pattern == "" {
		return FindPlan{}, fmt.Errorf("empty pattern")
	}
	if !exact {
		switch {
		case hashFull.MatchString(pattern):
			return FindPlan{Filter: lookHash, Arg: strings.ToLower(strings.TrimPrefix(pattern, "sha256:"))}, nil
		case hashPrefix.MatchString(pattern):
			return FindPlan{Filter: lookHashStart, Arg: strings.ToLower(strings.TrimPrefix(pattern, "sha256:"))}, nil
		case strings.HasPrefix(pattern, "sha256:"):
			return FindPlan{}, fmt.Errorf("%q: a content hash is sha256: and 6 to 64 hex digits (or use --exact for a path)", pattern)
		}
	}
	if exact || !isGlob(pattern) {
		if !strings.HasPrefix(pattern, "/") {
			if exact || strings.Contains(pattern, "/") {
				return FindPlan{Filter: lookPath, Arg: path.Clean("/" + pattern)}, nil
			}
			// A bare name: that name in any directory.
			return globPlan("/**/" + pattern)
		}
		return FindPlan{Filter: lookPath, Arg: path.Clean(pattern)}, nil
	}
	if !strings.HasPrefix(pattern, "/") {
		pattern = "/**/" + pattern // at any depth
	}
	return globPlan(pattern)
}

// isGlob reports whether p has glob syntax that is valid; "/usr/bin/[" is
// a path.
func isGlob(p string) bool {
	if !strings.ContainsAny(p, "*?[") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if _, err := path.Match(seg, ""); err != nil {
			return false
		}
	}
	return true
}

// globPlan turns an absolute glob ("*" within a path segment, "**" for any
// number of segments) into a SQLite GLOB that matches at least the same
// paths, keeping its literal prefix so the index on paths serves it. The
// exact glob is applied to what the SQL returns.
func globPlan(g string) (FindPlan, error) {
	segs := strings.Split(path.Clean(g), "/")
	var b strings.Builder
	for i, s := range segs {
		if i > 0 && s != "**" && segs[i-1] != "**" {
			b.WriteByte('/')
		}
		if s == "**" {
			b.WriteByte('*') // also absorbs the slashes around it
			continue
		}
		for j := 0; j < len(s); j++ {
			switch c := s[j]; c {
			case '\\': // path.Match escape: the next byte, literally
				if j+1 < len(s) {
					j++
					fmt.Fprintf(&b, "[%c]", s[j])
				}
			case '[': // a class: any one character will do for the SQL side
				end, err := classEnd(s, j)
				if err != nil {
					return FindPlan{}, fmt.Errorf("glob %q: %w", g, err)
				}
				b.WriteByte('?')
				j = end
			default:
				b.WriteByte(c)
			}
		}
	}
	return FindPlan{Filter: lookGlob, Arg: b.String(), glob: segs}, nil
}

// classEnd returns the index of the ']' closing the class that opens at
// s[open], with path.Match's rules: '^' negates, '\\' escapes.
func classEnd(s string, open int) (int, error) {
	j := open + 1
	if j < len(s) && s[j] == '^' {
		j++
	}
	for j < len(s) {
		switch {
		case s[j] == ']':
			return j, nil
		case s[j] == '\\':
			j += 2
		default:
			j++
		}
	}
	return 0, fmt.Errorf("unclosed [")
}

// matches applies the exact glob to a path.
func (p FindPlan) matches(s string) bool {
	if p.glob == nil {
		return true
	}
	return pathglob.MatchSegments(p.glob, strings.Split(s, "/"))
}

// Find returns the files matching o.Pattern in every indexed image, sorted
// by image, path and layer.
func Find(ctx context.Context, db Querier, o FindOptions) ([]FindRow, error) {
	if o.VisibleOnly && o.HiddenOnly {
		return nil, fmt.Errorf("visible-only and hidden-only exclude each other")
	}
	p, err := PlanFind(o.Pattern, o.Exact)
	if err != nil {
		return nil, err
	}
	if pool, isPool := db.(*sql.DB); p.Filter == lookPath && isPool && index.IsPool(pool) {
		out, ok, err := findPathSQLite(ctx, pool, p.Arg, o)
		if err != nil {
			return nil, fmt.Errorf("find %s: %w", o.Pattern, err)
		}
		if ok {
			return out, nil
		}
	}
	return findView(ctx, db, p, o)
}

// findView is Find through find.sql, on any back end.
func findView(ctx context.Context, db Querier, p FindPlan, o FindOptions) ([]FindRow, error) {
	rows, err := db.QueryContext(ctx, findSQL(p.Filter), p.Arg, o.VisibleOnly, o.HiddenOnly)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", o.Pattern, err)
	}
	defer rows.Close()
	tags := tagCache{db: db}
	defer tags.close()
	var out []FindRow
	for rows.Next() {
		var r FindRow
		var idx, os, arch, variant string
		if err := rows.Scan(&r.Registry, &r.Repository, &r.ImageDigest, &idx, &os, &arch, &variant,
			&r.Path, &r.Type, &r.LayerPosition, &r.LayerDigest, &r.Size, &r.Mode, &r.UID, &r.GID,
			&r.SHA256, &r.Linkname, &r.Visible, &r.HiddenBy, &r.HiddenHow, &r.Package); err != nil {
			return nil, fmt.Errorf("find %s: %w", o.Pattern, err)
		}
		if !p.matches(r.Path) {
			continue
		}
		r.Platform = Platform(os, arch, variant)
		if r.Tags, err = tags.get(ctx, r.Registry, r.Repository, r.ImageDigest, idx); err != nil {
			return nil, err
		}
		out = append(out, r)
		if o.Limit > 0 && len(out) == o.Limit {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find %s: %w", o.Pattern, err)
	}
	return out, nil
}

func findSQL(filter string) string {
	return strings.Replace(query("find"), "{{filter}}", filter, 1)
}

// tagCache looks up each image's tags once, through one prepared
// statement (preparing it per image costs more than the lookup). Past
// tagLookups images it reads every current tag of the index at once
// instead: a path present in thousands of images would otherwise cost a
// query per image (4,000 images: 320 ms, against 17 ms for the files).
type tagCache struct {
	db      Querier
	stmt    *sql.Stmt
	m       map[string][]string
	lookups int
	all     map[string][]string // registry/repository@digest -> current tags, once loaded
}

// tagLookups is how many images tagCache looks up one by one before it
// reads all tags.
const tagLookups = 64

func (c *tagCache) get(ctx context.Context, registry, repo, digest, indexDigest string) ([]string, error) {
	k := registry + "/" + repo + "@" + digest
	if t, ok := c.m[k]; ok {
		return t, nil
	}
	if c.m == nil {
		c.m = map[string][]string{}
	}
	if c.lookups == tagLookups && c.all == nil {
		if err := c.loadAll(ctx); err != nil {
			return nil, err
		}
	}
	if c.all != nil {
		t := append([]string{}, c.all[k]...)
		if indexDigest != "" && indexDigest != digest {
			t = append(t, c.all[registry+"/"+repo+"@"+indexDigest]...)
			slices.Sort(t)
			t = slices.Compact(t)
		}
		c.m[k] = t
		return t, nil
	}
	c.lookups++
	if c.stmt == nil {
		stmt, err := c.db.PrepareContext(ctx, query("image_tags"))
		if err != nil {
			return nil, fmt.Errorf("tags: %w", err)
		}
		c.stmt = stmt
	}
	rows, err := c.stmt.QueryContext(ctx, registry, repo, digest, indexDigest)
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", k, err)
	}
	t, err := scanTags(rows)
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", k, err)
	}
	c.m[k] = t
	return t, nil
}

// loadAll reads every current tag (what image_tags finds for one image).
func (c *tagCache) loadAll(ctx context.Context) error {
	rows, err := c.db.QueryContext(ctx, query("all_tags"))
	if err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	defer rows.Close()
	c.all = map[string][]string{}
	for rows.Next() {
		var registry, repo, digest, tag string
		if err := rows.Scan(&registry, &repo, &digest, &tag); err != nil {
			return fmt.Errorf("tags: %w", err)
		}
		k := registry + "/" + repo + "@" + digest
		c.all[k] = append(c.all[k], tag)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	return nil
}

// close releases the prepared statement.
func (c *tagCache) close() {
	if c.stmt != nil {
		c.stmt.Close()
	}
}

// Status renders visibility: "visible", or "hidden by N (how)".
func Status(visible bool, by sql.Null[int64], how sql.Null[string]) string {
	if visible {
		return "visible"
	}
	s := "hidden"
	if by.Valid {
		s += fmt.Sprintf(" by %d", by.V)
	}
	if how.Valid {
		s += " (" + how.V + ")"
	}
	return s
}

// FindResult is the output of Find.
func FindResult(rows []FindRow) *Result {
	res := &Result{Columns: []Column{
		{Name: "registry", NoTable: true},
		{Name: "repository", NoTable: true},
		{Name: "image", Head: "IMAGE", TableOnly: true},
		{Name: "tags", Head: "TAGS", Max: 24, Show: tagsShown},
		{Name: "image_digest", Head: "DIGEST", Show: ShortDigest},
		{Name: "platform", Head: "PLATFORM"},
		{Name: "path", NoTable: true},
		{Name: "shown_path", Head: "PATH", TableOnly: true},
		{Name: "type", Head: "TYPE"},
		{Name: "layer_position", Head: "LAYER", Right: true},
		{Name: "layer_digest", Head: "LAYER DIGEST", Show: ShortDigest},
		{Name: "size", Head: "SIZE", Right: true, Show: HumanSize},
		{Name: "mode", Head: "MODE", Show: Octal},
		{Name: "uid", NoTable: true},
		{Name: "gid", NoTable: true},
		{Name: "sha256", Head: "SHA256", Show: ShortDigest},
		{Name: "linkname", NoTable: true},
		{Name: "visible", NoTable: true},
		{Name: "hidden_by_position", NoTable: true},
		{Name: "hidden_how", NoTable: true},
		{Name: "status", Head: "STATUS", TableOnly: true},
		{Name: "package", Head: "PACKAGE", Show: dashNull},
	}}
	for _, r := range rows {
		res.Rows = append(res.Rows, []any{r.Registry, r.Repository, r.Registry + "/" + r.Repository, r.Tags,
			r.ImageDigest, r.Platform, r.Path, ShownPath(r.Path, r.Type, r.Linkname.V), r.Type,
			r.LayerPosition, r.LayerDigest, r.Size, r.Mode, r.UID, r.GID,
			nullable(r.SHA256), nullable(r.Linkname), r.Visible, nullable(r.HiddenBy), nullable(r.HiddenHow),
			Status(r.Visible, r.HiddenBy, r.HiddenHow), nullable(r.Package)})
	}
	return res
}

// ShownPath is a path as ls -l shows it: with " -> target" for symlinks,
// " => /target" for hardlinks (the absolute path the tar names: a
// hardlink's linkname is relative to the image root) and "major:minor" for
// devices.
func ShownPath(p, typ, link string) string {
	switch typ {
	case "symlink":
		return p + " -> " + link
	case "hardlink":
		return p + " => " + CleanPath(link)
	case "char", "block":
		return p + " (" + link + ")"
	case "whiteout":
		return p + " (whiteout)"
	case "opaque":
		return p + " (opaque marker)"
	}
	return p
}
