package scanners

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/pkgdb"
)

// PackagesScanner is the name of the package databases' scanner.
const PackagesScanner = "packages"

// DefaultMaxDatabaseFile is the largest package database file kept (64 MiB):
// a larger one is the layer's scanner error, its other files still kept.
const DefaultMaxDatabaseFile = 64 << 20

// packagesAlgorithm is part of the scanner's version: raise it when what it
// keeps changes (the paths, the digests), so layers are read again for it.
const packagesAlgorithm = "2"

// managedDirs are where package managers install files: the regular files
// under them get their md5 and sha1 (dpkg and old rpm record md5, apk sha1),
// once per content. What the FHS leaves to the local administrator or to
// run time is left out, as no package database claims it: /usr/local, /opt,
// /srv, home directories, caches, logs, spools, temporary and run-time
// directories, and the package databases themselves.
var (
	managedDirs   = []string{"/bin/", "/boot/", "/etc/", "/lib/", "/lib32/", "/lib64/", "/libx32/", "/sbin/", "/usr/", "/var/"}
	unmanagedDirs = []string{"/usr/local/", "/var/cache/", "/var/log/", "/var/tmp/", "/var/run/", "/var/spool/",
		"/var/mail/", "/var/lib/dpkg/", "/var/lib/apt/", "/var/lib/rpm/", "/usr/lib/sysimage/rpm/", "/lib/apk/db/", "/usr/src/"}
)

// digestCacheMax bounds the digests a Packages remembers of the contents it
// computed them for (about 200 bytes each): a content seen again in another
// layer of the scan is not hashed again.
const digestCacheMax = 1 << 15

// managed reports whether a package database may claim the file at p.
func managed(p string) bool {
	has := func(dirs []string) bool {
		return slices.ContainsFunc(dirs, func(d string) bool { return strings.HasPrefix(p, d) })
	}
	return has(managedDirs) && !has(unmanagedDirs)
}

// Packages keeps, per layer, the raw bytes of package database files (dpkg,
// apk, rpm: pkgdb.IsDatabasePath) and os-release, once per content in the
// index, so that each image's packages can be resolved from the visible
// ones later without reading a blob again; and the md5 and sha1 of regular
// files under package-managed directories. It is a crawl.LayerScanner.
type Packages struct {
	maxFile int64
	digests bool
	version string

	mu    sync.Mutex
	known map[string]auditor.ContentDigests // by sha256, at most digestCacheMax
}

// remember keeps the digests of a content, for the next file that has it.
func (p *Packages) remember(d auditor.ContentDigests) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.known == nil || len(p.known) >= digestCacheMax {
		p.known = map[string]auditor.ContentDigests{}
	}
	p.known[d.SHA256] = d
}

// recall returns the digests remembered of a content.
func (p *Packages) recall(sha string) (auditor.ContentDigests, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.known[sha]
	return d, ok
}

// digestStore is what a sink that is an index offers: whether it holds the
// digests of a content already.
type digestStore interface {
	HasDigests(sha256 string) bool
}

var _ crawl.LayerScanner = (*Packages)(nil)

// PackagesOptions configure Packages; zero fields take the defaults.
type PackagesOptions struct {
	MaxFileSize int64 // largest database file kept, in bytes
	// NoDigests leaves out the md5 and sha1 of package-managed files
	// (docs/packages.md says what they cost): dpkg, old rpm and apk files
	// are then not-verifiable.
	NoDigests bool
}

// NewPackages returns the package databases' scanner.
func NewPackages(o PackagesOptions) (*Packages, error) {
	if o.MaxFileSize < 0 {
		return nil, fmt.Errorf("packages max_file_size must be positive, got %d", o.MaxFileSize)
	}
	p := &Packages{maxFile: cmp.Or(o.MaxFileSize, DefaultMaxDatabaseFile), digests: !o.NoDigests}
	p.version = fmt.Sprintf("%s-%d-%t", packagesAlgorithm, p.maxFile, p.digests)
	return p, nil
}

// Name is PackagesScanner.
func (p *Packages) Name() string { return PackagesScanner }

// Version identifies what the scanner keeps.
func (p *Packages) Version() string { return p.version }

// NewScan starts reading one layer.
func (p *Packages) NewScan(out crawl.ScanSink) crawl.LayerScan { return &packagesScan{p: p, out: out} }

// packagesScan is Packages reading one layer.
type packagesScan struct {
	p        *Packages
	out      crawl.ScanSink
	tooLarge []string // database files over the cap
}

// kept reports whether the file at p is one the scanner keeps.
func kept(p string) bool {
	return pkgdb.IsDatabasePath(p) || slices.Contains(pkgdb.OSReleasePaths, p)
}

func (s *packagesScan) Wants(path string, size int64) bool {
	if !kept(path) {
		return false
	}
	if size > s.p.maxFile {
		s.tooLarge = append(s.tooLarge, fmt.Sprintf("%q is %d bytes, over the %d kept", path, size, s.p.maxFile))
		return false
	}
	return true
}

func (s *packagesScan) File(seq int, _ string, content []byte) error {
	s.out.AddCapture(seq, content)
	return nil
}

func (s *packagesScan) WantsDigests(path string, _ int64) bool { return s.p.digests && managed(path) }

// KnownDigests reports whether the digests of a content are in the index
// already, or were computed for an earlier file (they are then recorded
// for this layer too).
func (s *packagesScan) KnownDigests(sha string) bool {
	if d, ok := s.p.recall(sha); ok {
		s.out.AddDigests(d)
		return true
	}
	ds, ok := s.out.(digestStore)
	return ok && ds.HasDigests(sha)
}

func (s *packagesScan) Digests(_ int, _ string, d auditor.ContentDigests) error {
	s.p.remember(d)
	s.out.AddDigests(d)
	return nil
}

// Done reports the database files left out for their size: the others are
// kept all the same.
func (s *packagesScan) Done() error {
	if len(s.tooLarge) == 0 {
		return nil
	}
	return fmt.Errorf("package database files not kept: %s", strings.Join(s.tooLarge, "; "))
}
