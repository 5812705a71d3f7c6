package queries

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/auditor-dev/auditor/internal/localref"
)

// Image is an indexed platform image that a reference resolved to.
type Image struct {
	Digest      string // the platform manifest
	Registry    string // where it was found (the first, if several)
	Repository  string
	IndexDigest string // the index a tag reached it through; "" if none
	OS, Arch    string
	Variant     string
	Tags        []string // tags of Registry/Repository on it now
	// Repos lists every registry/repository holding the manifest, sorted;
	// Registry/Repository is Repos[0].
	Repos []string
}

// Platform returns os/arch[/variant].
func (im *Image) Platform() string { return Platform(im.OS, im.Arch, im.Variant) }

// Name is registry/repository@digest.
func (im *Image) Name() string { return im.Registry + "/" + im.Repository + "@" + im.Digest }

var (
	hexPrefix = regexp.MustCompile(`^(sha256:)?[0-9a-f]{4,64}$`)
	fullHex   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Ref is a parsed IMAGE reference.
type Ref struct {
	Registry   string // "" when the reference names none: any registry
	Repository string
	Tag        string
	Digest     string // full "sha256:<hex>"
	Prefix     string // a digest prefix, "sha256:<hex...>"
	// Any: every image of Registry/Repository (a local input named without
	// a ref name: the one image it holds, or an error listing them).
	Any bool
}

// ParseRef parses registry/repo:tag, registry/repo@sha256:..., repo:tag
// (any registry), or a digest or unique prefix of one (sha256:ab12...,
// ab12...; at least 4 hex digits). A name without tag or digest means
// :latest.
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("empty image reference")
	}
	if hexPrefix.MatchString(s) {
		h := strings.TrimPrefix(s, "sha256:")
		if len(h) == 64 {
			return Ref{Digest: "sha256:" + h}, nil
		}
		return Ref{Prefix: "sha256:" + h}, nil
	}
	if src, p, ref, ok := localref.Parse(s); ok {
		return localRef(s, src, p, ref)
	}
	var r Ref
	name := s
	if n, d, ok := strings.Cut(s, "@"); ok {
		name = n
		if !strings.HasPrefix(d, "sha256:") || !fullHex.MatchString(d[len("sha256:"):]) {
			return Ref{}, fmt.Errorf("image %q: digest must be sha256: and 64 hex digits", s)
		}
		r.Digest = d
	} else if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		name, r.Tag = s[:i], s[i+1:]
		if r.Tag == "" {
			return Ref{}, fmt.Errorf("image %q: empty tag", s)
		}
	} else {
		r.Tag = "latest"
	}
	if host, rest, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(host, ".:") || host == "localhost") {
		r.Registry, name = host, rest
	}
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return Ref{}, fmt.Errorf("image %q: no repository name", s)
	}
	r.Repository = name
	return r, nil
}

// localRef names an image of a local input as scan recorded it: the
// source's pseudo-registry, the input's absolute path as repository, and
// the ref name as tag; none (and always for a docker archive, whose name is
// all path) means the image it holds.
func localRef(s, src, p, ref string) (Ref, error) {
	if p == "" {
		return Ref{}, fmt.Errorf("image %q: give a path, as in %s:PATH", s, src)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return Ref{}, fmt.Errorf("image %q: %w", s, err)
	}
	return Ref{Registry: src, Repository: abs, Tag: ref, Any: ref == ""}, nil
}

// String renders the reference as a user would write it.
func (r Ref) String() string {
	if localref.IsSource(r.Registry) {
		if r.Tag != "" {
			return r.Registry + ":" + r.Repository + ":" + r.Tag
		}
		return r.Registry + ":" + r.Repository
	}
	s := r.Repository
	if r.Registry != "" {
		s = r.Registry + "/" + s
	}
	switch {
	case r.Prefix != "":
		return r.Prefix
	case r.Digest != "" && s == "":
		return r.Digest
	case r.Digest != "":
		return s + "@" + r.Digest
	}
	return s + ":" + r.Tag
}

// Resolve finds the one indexed platform image that ref names. platform
// ("os/arch[/variant]", or "") picks among the platforms of a multi-arch
// tag or index. Errors wrap ErrUnknownImage or ErrAmbiguous and say what
// would make the reference unique.
func Resolve(ctx context.Context, db Querier, ref, platform string) (*Image, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	var want *v1.Platform
	if platform != "" {
		if want, err = v1.ParsePlatform(platform); err != nil {
			return nil, fmt.Errorf("--platform %q: %w", platform, err)
		}
	}
	cands, err := candidates(ctx, db, r)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w %s: not in the index (see `auditor images`)", ErrUnknownImage, ref)
	}
	if want != nil {
		var keep []Image
		for _, c := range cands {
			if platformMatches(c, *want) {
				keep = append(keep, c)
			}
		}
		if len(keep) == 0 {
			return nil, fmt.Errorf("%w %s: no %s image; it has %s", ErrUnknownImage, ref, platform, strings.Join(platforms(cands), ", "))
		}
		cands = keep
	}
	byDigest := map[string][]Image{}
	for _, c := range cands {
		byDigest[c.Digest] = append(byDigest[c.Digest], c)
	}
	if len(byDigest) > 1 {
		ps := platforms(cands)
		if want == nil && len(ps) > 1 && sameRepo(cands) {
			return nil, fmt.Errorf("%w: %s has several platforms (%s): pick one with --platform", ErrAmbiguous, ref, strings.Join(ps, ", "))
		}
		var lines []string
		for _, c := range cands {
			lines = append(lines, fmt.Sprintf("  %s/%s@%s (%s)", c.Registry, c.Repository, c.Digest, c.Platform()))
		}
		return nil, fmt.Errorf("%w: %s matches %d images:\n%s", ErrAmbiguous, ref, len(byDigest), strings.Join(lines, "\n"))
	}
	var im Image
	for _, list := range byDigest {
		im = list[0]
		for _, c := range list {
			im.Repos = append(im.Repos, c.Registry+"/"+c.Repository)
		}
	}
	sort.Strings(im.Repos)
	if im.Tags, err = imageTags(ctx, db, im.Registry, im.Repository, im.Digest, im.IndexDigest); err != nil {
		return nil, fmt.Errorf("image %s: %w", im.Name(), err)
	}
	return &im, nil
}

// candidates lists the images a reference may mean.
func candidates(ctx context.Context, db Querier, r Ref) ([]Image, error) {
	switch {
	case r.Any:
		return imageRows(ctx, db, "*", true, r.Registry, r.Repository)
	case r.Prefix != "":
		return imageRows(ctx, db, r.Prefix+"*", true, "", "")
	case r.Digest != "":
		return imageRows(ctx, db, r.Digest, false, r.Registry, r.Repository)
	}
	rows, err := db.QueryContext(ctx, query("tag_digest"), r.Repository, r.Tag, r.Registry)
	if err != nil {
		return nil, err
	}
	type target struct{ reg, repo, digest string }
	var ts []target
	for rows.Next() {
		var t target
		if err := rows.Scan(&t.reg, &t.repo, &t.digest); err != nil {
			rows.Close()
			return nil, err
		}
		ts = append(ts, t)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	var out []Image
	for _, t := range ts {
		ims, err := imageRows(ctx, db, t.digest, false, t.reg, t.repo)
		if err != nil {
			return nil, err
		}
		out = append(out, ims...)
	}
	return out, nil
}

func imageRows(ctx context.Context, db Querier, digest string, prefix bool, registry, repo string) ([]Image, error) {
	rows, err := db.QueryContext(ctx, query("image_candidates"), digest, prefix, registry, repo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Image
	for rows.Next() {
		var im Image
		if err := rows.Scan(&im.Digest, &im.Registry, &im.Repository, &im.IndexDigest, &im.OS, &im.Arch, &im.Variant); err != nil {
			return nil, err
		}
		out = append(out, im)
	}
	return out, closeRows(rows)
}

// imageTags returns the tags of registry/repo on an image now.
func imageTags(ctx context.Context, db Querier, registry, repo, digest, indexDigest string) ([]string, error) {
	rows, err := db.QueryContext(ctx, query("image_tags"), registry, repo, digest, indexDigest)
	if err != nil {
		return nil, err
	}
	return scanTags(rows)
}

// scanTags reads a column of tags and closes rows.
func scanTags(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	tags := []string{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		tags = append(tags, t)
	}
	return tags, closeRows(rows)
}

func closeRows(rows *sql.Rows) error {
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}

// platformMatches reports whether an image satisfies a --platform spec,
// with arm64's implied variant v8 (configs often leave it out).
func platformMatches(im Image, want v1.Platform) bool {
	have := v1.Platform{OS: im.OS, Architecture: im.Arch, Variant: im.Variant}
	if have.Satisfies(want) {
		return true
	}
	if have.Architecture == "arm64" && have.Variant == "" {
		have.Variant = "v8"
		return have.Satisfies(want)
	}
	return false
}

func platforms(ims []Image) []string {
	seen := map[string]bool{}
	var out []string
	for _, im := range ims {
		if p := im.Platform(); !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func sameRepo(ims []Image) bool {
	for _, im := range ims[1:] {
		if im.Registry != ims[0].Registry || im.Repository != ims[0].Repository {
			return false
		}
	}
	return true
}
