// Package imagepkg resolves each image's packages from what its layers
// left visible: the package database files the packages scanner captured
// (scanners.Packages) and the image's merged view. For every installed
// package of the visible dpkg, apk and rpm databases it gives the package,
// each of its file records judged by pkgdb.Verify against the visible file
// at the record's path (parents resolved through the image's own visible
// symlinks, as extraction does: on a merged-/usr image dpkg's /bin/ls is
// /usr/bin/ls), the owning packages of each visible path, and the image's
// os-release.
//
// It reads and writes through small interfaces (Source, Store) so that any
// back end can use it: the SQLite index and the PostgreSQL store each
// implement them. A result is computed once per image and kept with
// Version: a back end recomputes images whose kept version differs.
package imagepkg

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/pkgdb"
)

// Version is the resolver's version, kept with each image's result: raise
// it when what Resolve gives changes, so every image is resolved again
// (from what the store holds: no layer is read again). 2: a file with no
// digest of its own that replaced one its record met is modified.
const Version = "2"

// The types a Store keeps, named here for the resolver's callers.
type (
	File        = auditor.VisibleFile
	DBFile      = auditor.CapturedFile
	Package     = auditor.ImagePackage
	PackageFile = auditor.PackageFile
	Owner       = auditor.PathOwner
	Result      = auditor.ImagePackages
)

// Source reads what Resolve needs of one image.
type Source interface {
	// VisibleFiles are the entries of the image's merged view.
	VisibleFiles(ctx context.Context, image string) ([]File, error)
	// DatabaseFiles are the captured entries of every layer of the image.
	DatabaseFiles(ctx context.Context, image string) ([]DBFile, error)
	// Capture returns a captured content by sha256, at most maxSize bytes.
	Capture(ctx context.Context, sha256 string, maxSize int64) ([]byte, error)
}

// Store is a Source that keeps results.
type Store interface {
	Source
	// PackagesPending lists the indexed images whose kept result is not of
	// this version (none kept, or an older one).
	PackagesPending(ctx context.Context, version string) ([]string, error)
	// PutPackages replaces the image's result, kept with version.
	PutPackages(ctx context.Context, image, version string, r *Result) error
}

// LayerCacher is a Store that can keep, while Update runs, what it reads of
// each layer: the images of a fleet share their lower layers, so the
// merged views Resolve reads hold the same layers' entries many times.
type LayerCacher interface {
	// CacheLayers starts keeping them, until done is called.
	CacheLayers() (done func())
}

// maxHops bounds the symlinks followed resolving one path (Linux's 40).
const maxHops = 40

// view is an image's merged view, by path. Every lookup goes through get,
// so that what a resolution looked at can be recorded (seen) and compared
// with another image's view (see Update).
type view struct {
	files map[string]*File
	seen  map[string]seenFile // nil when not recording
}

// seenFile is what a view held at a path a resolution looked up.
type seenFile struct {
	f  File
	ok bool // there was an entry
}

// get is the view's entry at p, nil for none.
func (v *view) get(p string) *File {
	f := v.files[p]
	if v.seen != nil {
		if _, ok := v.seen[p]; !ok {
			s := seenFile{ok: f != nil}
			if f != nil {
				s.f = *f
			}
			v.seen[p] = s
		}
	}
	return f
}

// holds reports whether the view holds what seen records at each of its
// paths: a resolution that looked only at them gives the same result.
func (v *view) holds(seen map[string]seenFile) bool {
	for p, s := range seen {
		f := v.files[p]
		if (f != nil) != s.ok || f != nil && !sameFile(f, &s.f) {
			return false
		}
	}
	return true
}

// sameFile reports whether two entries are equal in every field.
func sameFile(a, b *File) bool {
	return a.Path == b.Path && a.Type == b.Type && a.LinkTarget == b.LinkTarget &&
		a.SHA256 == b.SHA256 && a.MD5 == b.MD5 && a.SHA1 == b.SHA1 && slices.Equal(a.Replaced, b.Replaced)
}

// resolve follows the symlinks of p's parents in the view (relative and
// absolute targets, clamped at the root, as extraction does) and, when
// final is set, of p itself.
func (v *view) resolve(p string, final bool) string {
	parts := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	cur := "/"
	for hops := 0; len(parts) > 0; {
		name := parts[0]
		parts = parts[1:]
		if name == "" || name == "." {
			continue
		}
		if name == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, name)
		f := v.get(next)
		if f != nil && f.Type == auditor.TypeSymlink && (len(parts) > 0 || final) {
			if hops++; hops > maxHops {
				return next
			}
			t := f.LinkTarget
			if !strings.HasPrefix(t, "/") {
				t = cur + "/" + t
			}
			parts = append(strings.Split(strings.TrimPrefix(t, "/"), "/"), parts...)
			cur = "/"
			continue
		}
		cur = next
	}
	return cur
}

// kind is what pkgdb.Verify calls an entry type.
func kind(t auditor.EntryType) pkgdb.Kind {
	switch t {
	case auditor.TypeFile, auditor.TypeHardlink:
		return pkgdb.Regular
	case auditor.TypeDir:
		return pkgdb.Directory
	case auditor.TypeSymlink:
		return pkgdb.Link
	}
	return pkgdb.Other
}

// observe is what the view holds at p.
func (v *view) observe(p string) pkgdb.Observed {
	f := v.get(p)
	if f == nil {
		return pkgdb.Observed{}
	}
	o := pkgdb.Observed{Kind: kind(f.Type), LinkTarget: f.LinkTarget, MD5: f.MD5, SHA1: f.SHA1, SHA256: f.SHA256}
	for _, r := range f.Replaced {
		o.Replaced = append(o.Replaced, pkgdb.Digests(r))
	}
	return o
}

// actual is the observed digest a record compares with.
func actual(a pkgdb.Algorithm, o pkgdb.Observed) string {
	switch o.Kind {
	case pkgdb.Link:
		if a == pkgdb.NoDigest {
			return ""
		}
		d, _ := pkgdb.Digest(a, []byte(o.LinkTarget))
		return d
	case pkgdb.Regular:
		switch a {
		case pkgdb.MD5:
			return o.MD5
		case pkgdb.SHA1:
			return o.SHA1
		case pkgdb.SHA256:
			return o.SHA256
		case pkgdb.SHA256_160:
			if len(o.SHA256) == 64 {
				return o.SHA256[:40]
			}
		}
	}
	return ""
}

// databases are the package databases of one state of an image.
type databases struct {
	dpkg *pkgdb.DpkgDB
	apk  *pkgdb.APKDB
	rpm  []pkgdb.Package
	errs []error
}

// packages lists every installed package.
func (d *databases) packages() []pkgdb.Package {
	var out []pkgdb.Package
	if d.dpkg != nil {
		out = append(out, d.dpkg.Packages...)
	}
	if d.apk != nil {
		out = append(out, d.apk.Packages...)
	}
	out = append(out, d.rpm...)
	return slices.DeleteFunc(out, func(p pkgdb.Package) bool { return !p.Installed })
}

// rpmPreference orders an image's rpm databases: the first present is the
// one rpm reads (a converted system may keep the old file beside it).
var rpmPreference = []string{
	"/usr/lib/sysimage/rpm/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite",
	"/usr/lib/sysimage/rpm/Packages.db", "/var/lib/rpm/Packages.db",
	"/usr/lib/sysimage/rpm/Packages", "/var/lib/rpm/Packages",
}

// resolver reads databases, each content once.
type resolver struct {
	src   Source
	image string
	*parsed
	ctx context.Context
}

// parsed keeps the databases read, for the images that have the same: an
// Update reads the base image's database once, not once per image built on
// it. They are only read after parsing.
type parsed struct {
	bytes map[string][]byte     // by sha256
	rpms  map[string]rpmParse   // by sha256
	dbs   map[string]*databases // by state (name=sha256 of each file)
	size  int64                 // of bytes
}

// maxParsedBytes bounds the database bytes an Update keeps: past it they
// are dropped, with what was parsed of them.
const maxParsedBytes = 256 << 20

func newParsed() *parsed {
	return &parsed{bytes: map[string][]byte{}, rpms: map[string]rpmParse{}, dbs: map[string]*databases{}}
}

type rpmParse struct {
	pkgs []pkgdb.Package
	err  error
}

func (r *resolver) content(sha, name string) ([]byte, error) {
	if b, ok := r.bytes[sha]; ok {
		return b, nil
	}
	b, err := r.src.Capture(r.ctx, sha, pkgdb.DefaultLimits.MaxFileSize(name))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if r.size += int64(len(b)); r.size > maxParsedBytes {
		*r.parsed = *newParsed()
		r.size = int64(len(b))
	}
	r.bytes[sha] = b
	return b, nil
}

// read parses the databases of one state: database path -> sha256. The
// result is shared: not to be changed.
func (r *resolver) read(files map[string]string) *databases {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	var key strings.Builder
	for _, n := range names {
		key.WriteString(n + "\x00" + files[n] + "\x00")
	}
	if d, ok := r.dbs[key.String()]; ok {
		return d
	}
	d := r.parse(files)
	r.dbs[key.String()] = d
	return d
}

// parse parses the databases of one state.
func (r *resolver) parse(files map[string]string) *databases {
	d := &databases{}
	dpkg, apk := map[string][]byte{}, map[string][]byte{}
	for name, sha := range files {
		var to map[string][]byte
		switch {
		case pkgdb.IsDpkgPath(name):
			to = dpkg
		case pkgdb.IsAPKPath(name):
			to = apk
		default:
			continue
		}
		b, err := r.content(sha, name)
		if err != nil {
			d.errs = append(d.errs, err)
			continue
		}
		to[name] = b
	}
	if _, ok := dpkg[pkgdb.DpkgStatus]; ok || hasStatusD(dpkg) {
		db, err := pkgdb.ReadDpkg(dpkg, pkgdb.DefaultLimits)
		d.dpkg = db
		if err != nil {
			d.errs = append(d.errs, err)
		}
	}
	if _, ok := apk[pkgdb.APKInstalled]; ok {
		db, err := pkgdb.ReadAPK(apk, pkgdb.DefaultLimits)
		d.apk = db
		if err != nil {
			d.errs = append(d.errs, err)
		}
	}
	for _, name := range rpmPreference {
		sha, ok := files[name]
		if !ok {
			continue
		}
		p, ok := r.rpms[sha]
		if !ok {
			b, err := r.content(sha, name)
			if err == nil {
				p.pkgs, p.err = pkgdb.ParseRPM(name, b, pkgdb.DefaultLimits)
			} else {
				p.err = err
			}
			r.rpms[sha] = p
		}
		d.rpm = p.pkgs
		if p.err != nil {
			d.errs = append(d.errs, p.err)
		}
		break
	}
	return d
}

func hasStatusD(files map[string][]byte) bool {
	for n := range files {
		if path.Dir(n) == pkgdb.DpkgStatusD {
			return true
		}
	}
	return false
}

// dbName is the database path an entry stands for: where it lands when
// that is a database path, else the name its layer gave it.
func dbName(f DBFile) string {
	if pkgdb.IsDatabasePath(f.Path) || slices.Contains(pkgdb.OSReleasePaths, f.Path) {
		return f.Path
	}
	return f.Name
}

// packageKey identifies a package across the states of an image.
func packageKey(p pkgdb.Package) string {
	return string(p.Manager) + "\x00" + p.Name + "\x00" + p.Architecture
}

// Resolve computes the packages of one image.
func Resolve(ctx context.Context, src Source, image string) (*Result, error) {
	return resolve(ctx, src, image, newParsed())
}

// resolve is Resolve with the databases parsed so far.
func resolve(ctx context.Context, src Source, image string, known *parsed) (*Result, error) {
	in, err := load(ctx, src, image)
	if err != nil || in == nil {
		return &Result{}, err
	}
	return compute(ctx, src, image, known, in.dbf, in.view), nil
}

// inputs are what an image's result is computed from: its captured
// database files and its merged view.
type inputs struct {
	dbf  []DBFile
	view *view
}

// load reads an image's inputs; nil when it has no captured file (no
// database and no os-release: nothing to resolve, and the merged view, the
// costly read, is not needed).
func load(ctx context.Context, src Source, image string) (*inputs, error) {
	dbf, err := src.DatabaseFiles(ctx, image)
	if err != nil {
		return nil, err
	}
	if len(dbf) == 0 {
		return nil, nil
	}
	vis, err := src.VisibleFiles(ctx, image)
	if err != nil {
		return nil, err
	}
	v := make(map[string]*File, len(vis))
	for i := range vis {
		v[vis[i].Path] = &vis[i]
	}
	// The root, and the parents a layer implied without an entry of their
	// own, are directories of the extracted image.
	for i := range vis {
		for d := path.Dir(vis[i].Path); v[d] == nil; d = path.Dir(d) {
			v[d] = &File{Path: d, Type: auditor.TypeDir}
			if d == "/" {
				break
			}
		}
	}
	if v["/"] == nil {
		v["/"] = &File{Path: "/", Type: auditor.TypeDir}
	}
	return &inputs{dbf: dbf, view: &view{files: v}}, nil
}

// compute resolves an image from its inputs.
func compute(ctx context.Context, src Source, image string, known *parsed, dbf []DBFile, v *view) *Result {
	r := &resolver{src: src, image: image, parsed: known, ctx: ctx}
	res := &Result{}

	// The final state: the visible database files.
	final := map[string]string{}
	byPath := map[string]string{}  // landing path -> sha256, for os-release through links
	layerOf := map[string]string{} // database name or landing path -> layer digest, for errors
	for _, f := range dbf {
		if f.Visible {
			final[dbName(f)] = f.SHA256
			byPath[f.Path] = f.SHA256
			layerOf[dbName(f)], layerOf[f.Path] = f.Layer, f.Layer
		}
	}
	dbs := r.read(final)
	osr, at, err := r.osRelease(v, byPath)
	res.OS = auditor.OSRelease(osr)
	var errs []error
	if err != nil {
		errs = append(errs, &DatabaseError{Layer: layerOf[at], Err: err})
	}
	positions := r.lastChanged(dbf)
	for _, p := range dbs.packages() {
		res.Packages = append(res.Packages, Package{
			Manager: string(p.Manager), Name: p.Name, Version: p.Version, Architecture: p.Architecture,
			SourceName: p.SourceName, SourceVersion: p.SourceVersion,
			LayerPosition: positions[packageKey(p)], RecordsDigest: p.RecordsDigest(),
		})
		res.Files = append(res.Files, judge(v, dbs, p)...)
	}
	owners := map[string][]string{}
	for _, f := range res.Files {
		switch pkgdb.Status(f.Status) {
		case pkgdb.Diverted, pkgdb.Missing, pkgdb.Excluded:
			continue
		}
		if v.get(f.Path) != nil && !slices.Contains(owners[f.Path], f.Package) {
			owners[f.Path] = append(owners[f.Path], f.Package)
		}
	}
	for p, pkgs := range owners {
		sort.Strings(pkgs)
		res.Owners = append(res.Owners, Owner{Path: p, Packages: strings.Join(pkgs, ", ")})
	}
	sort.Slice(res.Owners, func(i, j int) bool { return res.Owners[i].Path < res.Owners[j].Path })
	for _, e := range dbs.errs {
		for _, leaf := range Errors(e) {
			errs = append(errs, &DatabaseError{Layer: layerNamed(layerOf, leaf.Error()), Err: leaf})
		}
	}
	res.Err = errors.Join(errs...)
	return res
}

// DatabaseError is a database file of an image that did not parse (or
// could not be read): the layer it came from, and the error, which names
// the file (and the line, when known). The image's other databases, and
// whatever parsed of this one, are kept.
type DatabaseError struct {
	Layer string // the digest of the file's layer; "" when the error is of no one file
	Err   error
}

func (e *DatabaseError) Error() string {
	if e.Layer == "" {
		return e.Err.Error()
	}
	return "layer " + e.Layer + ": " + e.Err.Error()
}

func (e *DatabaseError) Unwrap() error { return e.Err }

// Errors lists the single errors err joins (errors.Join, recursively); err
// itself when it joins none, nothing for nil.
func Errors(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, Errors(e)...)
	}
	return out
}

// layerNamed is the layer of the database file a parser's message begins
// with (pkgdb names the file first: "NAME line N: ...", "NAME: ..."), the
// longest name that matches; "" for none.
func layerNamed(layerOf map[string]string, msg string) string {
	best, layer := 0, ""
	for name, l := range layerOf {
		if len(name) > best && strings.HasPrefix(msg, name) && len(msg) > len(name) && (msg[len(name)] == ' ' || msg[len(name)] == ':') {
			best, layer = len(name), l
		}
	}
	return layer
}

// judge verifies every file record of p.
func judge(v *view, dbs *databases, p pkgdb.Package) []PackageFile {
	out := make([]PackageFile, 0, len(p.Files))
	add := func(f pkgdb.File, at string, o pkgdb.Observed) {
		out = append(out, PackageFile{Package: p.Name, Path: at, RecordedPath: f.Path, Algorithm: string(f.Algorithm),
			Expected: f.Digest, Actual: actual(f.Algorithm, o), Status: string(pkgdb.Verify(f, o))})
	}
	for _, f := range p.Files {
		at := v.resolve(f.Path, false)
		switch p.Manager {
		case pkgdb.Dpkg:
			// debsums follows a final symlink; dpkg's filters and
			// diversions apply to the recorded path.
			observe := func(rec string) pkgdb.Observed {
				o := v.observe(v.resolve(rec, f.Digest != ""))
				o.Excluded = dbs.dpkg.Filters.Excluded(rec, false)
				return o
			}
			if to, ok := pkgdb.DivertedTo(dbs.dpkg.Diversions, f.Path, p.Name); ok {
				o := observe(f.Path)
				o.Diverted = true
				add(f, at, o)
				moved := f
				moved.Path = to
				add(moved, v.resolve(to, false), observe(to))
				out[len(out)-1].RecordedPath = f.Path
				continue
			}
			add(f, at, observe(f.Path))
		default:
			// rpm -V and apk audit do not follow a final symlink.
			add(f, at, v.observe(at))
		}
	}
	return out
}

// osRelease reads the image's os-release: the first of pkgdb.OSReleasePaths
// the view holds, through its symlinks; at is the path it was read at.
func (r *resolver) osRelease(v *view, byPath map[string]string) (osr pkgdb.OSRelease, at string, err error) {
	for _, p := range pkgdb.OSReleasePaths {
		at := v.resolve(p, true)
		if v.get(at) == nil {
			continue
		}
		sha, ok := byPath[at]
		if !ok {
			return pkgdb.OSRelease{}, at, nil // not captured (a link out of the captured paths)
		}
		b, err := r.content(sha, p)
		if err != nil {
			return pkgdb.OSRelease{}, at, err
		}
		osr, err := pkgdb.ParseOSRelease(p, b)
		return osr, at, err
	}
	return pkgdb.OSRelease{}, "", nil
}

// lastChanged finds, for each package, the last layer whose database state
// changed its records: the databases are read as they stood after each
// layer that changed a database file.
func (r *resolver) lastChanged(dbf []DBFile) map[string]int {
	var steps []int
	for _, f := range dbf {
		steps = append(steps, f.Position)
		if f.HiddenBy >= 0 {
			steps = append(steps, f.HiddenBy)
		}
	}
	sort.Ints(steps)
	steps = slices.Compact(steps)
	last := map[string]int{}
	prev := map[string]string{}
	for _, k := range steps {
		state := map[string]string{}
		at := map[string]int{}
		for _, f := range dbf {
			if f.Position > k || f.HiddenBy >= 0 && f.HiddenBy <= k {
				continue
			}
			n := dbName(f)
			if p, ok := at[n]; ok && p > f.Position {
				continue
			}
			state[n], at[n] = f.SHA256, f.Position
		}
		cur := map[string]string{}
		for _, p := range r.read(state).packages() {
			cur[packageKey(p)] = p.RecordsDigest() + p.SourceName + "\x00" + p.SourceVersion
		}
		for key, d := range cur {
			if prev[key] != d {
				last[key] = k
			}
		}
		prev = cur
	}
	return last
}

// Sharer is a Store that can keep for an image the result it keeps for
// another image, of the same version (Update: images that resolve alike),
// cheaper than PutPackages with an equal result.
type Sharer interface {
	SharePackages(ctx context.Context, image, like, version string) error
}

// A resolution sees an image only through its captured database files and
// the entries of its view at the paths it looks up (each lookup goes
// through view.get). The images of a fleet on one base mostly hold the
// same there: an Update records, for each image it resolved, the paths its
// resolution looked up and what they held, and an image with the same
// database files whose view holds the same at each of those paths gets
// that image's result, without its records judged again.
type resolvedImage struct {
	image string
	seen  map[string]seenFile
	res   *Result
}

// alike keeps the images an Update resolved, by their database files.
type alike struct {
	byFiles map[string][]*resolvedImage
	paths   int // seen paths kept, at most maxAlikePaths
}

// The images' resolutions an Update keeps, to compare others with: at most
// maxAlikePerFiles for one set of database files, and maxAlikePaths looked-up
// paths in all (about 150 bytes each).
const (
	maxAlikePerFiles = 4
	maxAlikePaths    = 1 << 20
)

// filesKey identifies an image's captured database files, whatever their
// order.
func filesKey(dbf []DBFile) string {
	rows := make([]string, len(dbf))
	for i, f := range dbf {
		rows[i] = fmt.Sprintf("%q %q %d %d %t %s %s", f.Path, f.Name, f.Position, f.HiddenBy, f.Visible, f.SHA256, f.Layer)
	}
	slices.Sort(rows)
	return strings.Join(rows, "\n")
}

// find returns an image resolved whose result the image with these inputs
// has, nil for none.
func (a *alike) find(key string, v *view) *resolvedImage {
	for _, r := range a.byFiles[key] {
		if v.holds(r.seen) {
			return r
		}
	}
	return nil
}

// add keeps an image resolved.
func (a *alike) add(key string, r *resolvedImage) {
	if a.paths+len(r.seen) > maxAlikePaths {
		a.byFiles, a.paths = map[string][]*resolvedImage{}, 0
	}
	if len(r.seen) > maxAlikePaths {
		return
	}
	kept := a.byFiles[key]
	if len(kept) >= maxAlikePerFiles {
		a.paths -= len(kept[0].seen)
		kept = kept[1:]
	}
	a.byFiles[key] = append(kept, r)
	a.paths += len(r.seen)
}

// Update resolves every image of the store whose kept result is not of
// Version, and keeps each. A database that did not parse is reported to
// onError, each file's error a *DatabaseError (Errors lists them; the
// image's result is kept with the rest); an error reading or
// writing the store ends the update. It returns how many images it
// resolved.
func Update(ctx context.Context, st Store, onError func(image string, err error)) (int, error) {
	images, err := st.PackagesPending(ctx, Version)
	if err != nil {
		return 0, fmt.Errorf("packages: %w", err)
	}
	if c, ok := st.(LayerCacher); ok && len(images) > 0 {
		defer c.CacheLayers()()
	}
	sharer, _ := st.(Sharer)
	n := 0
	known := newParsed()
	done := &alike{byFiles: map[string][]*resolvedImage{}}
	for _, im := range images {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		in, err := load(ctx, st, im)
		if err != nil {
			return n, fmt.Errorf("packages of %s: %w", im, err)
		}
		res := &Result{}
		like := ""
		if in != nil {
			key := filesKey(in.dbf)
			if r := done.find(key, in.view); r != nil {
				res, like = r.res, r.image
			} else {
				in.view.seen = map[string]seenFile{}
				res = compute(ctx, st, im, known, in.dbf, in.view)
				done.add(key, &resolvedImage{image: im, seen: in.view.seen, res: res})
			}
		}
		if like != "" && sharer != nil {
			err = sharer.SharePackages(ctx, im, like, Version)
		} else {
			err = st.PutPackages(ctx, im, Version, res)
		}
		if err != nil {
			return n, fmt.Errorf("packages of %s: %w", im, err)
		}
		if res.Err != nil && onError != nil {
			onError(im, res.Err)
		}
		n++
	}
	return n, nil
}
