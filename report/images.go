package report

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/auditor-dev/auditor/queries"
)

// osColumns are the columns of the images view that may name an image's
// distribution (from /etc/os-release), best first. An index made before
// they exist has none, and the report leaves its OS column out.
var osColumns = []string{"os_pretty_name", "os_name", "os_release", "distribution"}

// columns returns the column names of a view or table ("" set when it does
// not exist).
func columns(ctx context.Context, db queries.Querier, relation string) (map[string]bool, error) {
	out := map[string]bool{}
	cols, err := queries.Columns(ctx, db, relation)
	if err != nil {
		return out, nil // no such view
	}
	for _, c := range cols {
		out[c] = true
	}
	return out, nil
}

// imageReader reads the details of images, with the optional columns the
// index has.
type imageReader struct {
	db       queries.Querier
	osColumn string // "" when the index records no distribution
	packages bool   // image_files has the package column
	excerpts *sql.Stmt
	owner    *sql.Stmt
}

func newImageReader(ctx context.Context, db queries.Querier) (*imageReader, error) {
	r := &imageReader{db: db}
	cols, err := columns(ctx, db, "images")
	if err != nil {
		return nil, err
	}
	for _, c := range osColumns {
		if cols[c] {
			r.osColumn = c
			break
		}
	}
	files, err := columns(ctx, db, "image_files")
	if err != nil {
		return nil, err
	}
	r.packages = files["package"]
	if r.excerpts, err = db.PrepareContext(ctx, `SELECT pattern_id || ': ' || excerpt FROM content_matches
		WHERE layer_digest = ? AND path = ? ORDER BY "offset" LIMIT 3`); err != nil {
		return nil, fmt.Errorf("preparing content matches: %w", err)
	}
	if r.packages {
		// The owners of the entry the image shows at the path, as dpkg -S
		// names them (image_files repeats it per repository holding the
		// image); a finding on a hidden file names no owner.
		if r.owner, err = db.PrepareContext(ctx, `SELECT group_concat(DISTINCT package) FROM image_files
			WHERE image_digest = ? AND path = ? AND visible AND package IS NOT NULL`); err != nil {
			return nil, fmt.Errorf("preparing package owners: %w", err)
		}
	}
	return r, nil
}

func (r *imageReader) close() {
	r.excerpts.Close()
	if r.owner != nil {
		r.owner.Close()
	}
}

// stateRank orders an image's findings: what needs work first.
var stateRank = map[string]int{"new": 0, "open": 1, "suppressed": 2, "resolved": 3}

// loadImages fills d.Images with the images detailed (see detailed), each
// with its first d.PerImage findings and their evidence.
func loadImages(ctx context.Context, db queries.Querier, d *Data, o Options) error {
	r, err := newImageReader(ctx, db)
	if err != nil {
		return err
	}
	defer r.close()
	d.HasOS, d.HasPackages = r.osColumn != "", r.packages
	byImage := map[string][]Finding{}
	withEvidence := map[string]Evidence{}
	for i := range d.Findings {
		d.Findings[i].LayerPosition = -1 // until evidence says
		f := d.Findings[i]
		byImage[f.ImageDigest] = append(byImage[f.ImageDigest], f)
	}
	list := detailed(d, o.Top, o.MaxDetailed)
	d.perImage = o.MaxImageFindings
	if d.perImage <= 0 {
		d.perImage = min(max(DefaultMaxListed/max(len(list), 1), MinImageFindings), MaxImageFindings)
	}
	for _, ic := range list {
		im, err := r.image(ctx, ic.Digest)
		if err != nil {
			return err
		}
		im.New, im.Open = ic.New, ic.Open
		fs := byImage[ic.Digest]
		if len(fs) > 0 {
			im.Tags = strings.Fields(fs[0].Tags)
		}
		sort.SliceStable(fs, func(i, j int) bool { return stateRank[fs[i].State] < stateRank[fs[j].State] }) // each by severity still
		for i, f := range fs {
			if i >= d.perImage {
				im.More.add(f.State)
				f.layer(im) // for the new findings table; the rest costs queries
				withEvidence[f.Fingerprint] = f.Evidence
				continue
			}
			if err := r.evidence(ctx, im, &f); err != nil {
				return err
			}
			f.Listed = true
			im.Findings = append(im.Findings, f)
			withEvidence[f.Fingerprint] = f.Evidence
		}
		d.Images = append(d.Images, *im)
	}
	for _, fs := range [][]Finding{d.Findings, d.New} {
		for i := range fs {
			if e, ok := withEvidence[fs[i].Fingerprint]; ok {
				fs[i].Evidence = e
			}
		}
	}
	return nil
}

// image reads one image's config and layers.
func (r *imageReader) image(ctx context.Context, digest string) (*Image, error) {
	osCol := "''"
	if r.osColumn != "" {
		osCol = "COALESCE(" + r.osColumn + ", '')"
	}
	rows, err := r.db.QueryContext(ctx, `SELECT registry, repository, COALESCE(os, ''), COALESCE(architecture, ''), COALESCE(variant, ''),
		COALESCE(created, ''), COALESCE(user, ''), COALESCE(entrypoint, ''), COALESCE(cmd, ''), `+osCol+`
		FROM images WHERE digest = ? ORDER BY registry, repository`, digest)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", digest, err)
	}
	defer rows.Close()
	im := &Image{Digest: digest}
	for rows.Next() {
		var reg, repo, os, arch, variant, entrypoint, cmd string
		if err := rows.Scan(&reg, &repo, &os, &arch, &variant, &im.Created, &im.User, &entrypoint, &cmd, &im.OS); err != nil {
			return nil, fmt.Errorf("image %s: %w", digest, err)
		}
		if im.Registry == "" {
			im.Registry = reg
		}
		im.Repositories = append(im.Repositories, reg+"/"+repo)
		im.Platform = joinNonEmpty("/", os, arch, variant)
		im.Entrypoint, im.Cmd = jsonList(entrypoint), jsonList(cmd)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("image %s: %w", digest, err)
	}
	if len(im.Repositories) == 0 {
		return im, nil // findings of an image the index no longer holds
	}
	repo := strings.TrimPrefix(im.Repositories[0], im.Registry+"/")
	if im.Layers, err = r.layers(ctx, digest, im.Registry, repo); err != nil {
		return nil, err
	}
	return im, nil
}

// jsonList shows a JSON list of strings (entrypoint, cmd) as words; any
// other value as it is.
func jsonList(s string) string {
	var l []string
	if s == "" || json.Unmarshal([]byte(s), &l) != nil {
		return s
	}
	for i, w := range l {
		if w == "" || strings.ContainsAny(w, " \t\"'") {
			l[i] = fmt.Sprintf("%q", w)
		}
	}
	return strings.Join(l, " ")
}

// layers reads an image's layers with their sizes, the bytes later layers
// hide, and the history step that made each.
func (r *imageReader) layers(ctx context.Context, digest, registry, repo string) ([]Layer, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT il.position, il.layer_digest, COALESCE(il.media_type, ''),
		COALESCE(l.size, 0), COALESCE(l.uncompressed_size, 0), COALESCE(l.entries, 0),
		COALESCE(h.created_by, ''), COALESCE(h.comment, '')
		FROM image_layers il
		LEFT JOIN layers l ON l.digest = il.layer_digest
		LEFT JOIN history h ON h.image_digest = il.image_digest AND h.layer_position = il.position
		WHERE il.image_digest = ? ORDER BY il.position`, digest)
	if err != nil {
		return nil, fmt.Errorf("layers of %s: %w", digest, err)
	}
	defer rows.Close()
	var out []Layer
	for rows.Next() {
		var l Layer
		if err := rows.Scan(&l.Position, &l.Digest, &l.MediaType, &l.Size, &l.UncompressedSize, &l.Entries, &l.CreatedBy, &l.Comment); err != nil {
			return nil, fmt.Errorf("layers of %s: %w", digest, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("layers of %s: %w", digest, err)
	}
	// Hidden regular files, counted in one repository (image_files repeats
	// the rows for each repository holding the image).
	hrows, err := r.db.QueryContext(ctx, `SELECT layer_position, COALESCE(SUM(size), 0), count(*) FROM image_files
		WHERE image_digest = ? AND registry = ? AND repository = ? AND NOT visible AND type = 'file'
		GROUP BY layer_position`, digest, registry, repo)
	if err != nil {
		return nil, fmt.Errorf("hidden files of %s: %w", digest, err)
	}
	defer hrows.Close()
	for hrows.Next() {
		var pos, bytes, n int64
		if err := hrows.Scan(&pos, &bytes, &n); err != nil {
			return nil, fmt.Errorf("hidden files of %s: %w", digest, err)
		}
		for i := range out {
			if out[i].Position == pos {
				out[i].HiddenBytes, out[i].HiddenFiles = bytes, n
			}
		}
	}
	if err := hrows.Err(); err != nil {
		return nil, fmt.Errorf("hidden files of %s: %w", digest, err)
	}
	return out, nil
}

// layer fills f's layer position and history step from im's layers.
func (f *Finding) layer(im *Image) {
	f.LayerPosition = -1
	for _, l := range im.Layers {
		if l.Digest == f.LayerDigest {
			f.LayerPosition, f.CreatedBy = l.Position, l.CreatedBy
			break
		}
	}
}

// evidence fills f's evidence from im's layers, content matches and
// package owners.
func (r *imageReader) evidence(ctx context.Context, im *Image, f *Finding) error {
	f.layer(im)
	if f.Path == "" {
		return nil
	}
	if f.LayerDigest != "" {
		rows, err := r.excerpts.QueryContext(ctx, f.LayerDigest, f.Path)
		if err != nil {
			return fmt.Errorf("content matches of %s in layer %s: %w", f.Path, f.LayerDigest, err)
		}
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				rows.Close()
				return fmt.Errorf("content matches of %s in layer %s: %w", f.Path, f.LayerDigest, err)
			}
			f.Excerpts = append(f.Excerpts, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("content matches of %s in layer %s: %w", f.Path, f.LayerDigest, err)
		}
	}
	if r.owner != nil {
		var owner sql.NullString
		if err := r.owner.QueryRowContext(ctx, im.Digest, f.Path).Scan(&owner); err != nil {
			return fmt.Errorf("owner of %s in %s: %w", f.Path, im.Digest, err)
		}
		f.Package = owner.String
	}
	return nil
}
