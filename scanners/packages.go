package scanners

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/pkgdb"
)

// PackagesScanner is the name of the package databases' scanner.
const PackagesScanner = "packages"

// DefaultMaxDatabaseFile is the largest package database file kept (64 MiB):
// a larger one is the layer's scanner error, its other files still kept.
const DefaultMaxDatabaseFile = 64 << 20

// packagesAlgorithm is part of the scanner's version: raise it when what it
// keeps changes (the paths, the digests), so layers are read again for it.
const packagesAlgorithm = "1"

// managedDirs are where package managers install files: the regular files
// under them get their md5 and sha1 (dpkg and old rpm record md5, apk sha1),
// once per content. /usr/local, caches, logs and temporary directories are
// left out: no package database claims them.
var (
	managedDirs   = []string{"/bin/", "/boot/", "/etc/", "/lib/", "/lib32/", "/lib64/", "/libx32/", "/opt/", "/sbin/", "/srv/", "/usr/", "/var/"}
	unmanagedDirs = []string{"/usr/local/", "/var/cache/", "/var/log/", "/var/tmp/", "/var/run/"}
)

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
}

var _ crawl.LayerScanner = (*Packages)(nil)

// PackagesOptions configure Packages; zero fields take the defaults.
type PackagesOptions struct {
	MaxFileSize int64 // largest database file kept, in bytes
	// Digests computes the md5 and sha1 of package-managed files: about
	// 30% more CPU for a cold scan (md5 and sha1 over nearly every byte).
	Digests bool
}

// NewPackages returns the package databases' scanner.
func NewPackages(o PackagesOptions) (*Packages, error) {
	if o.MaxFileSize < 0 {
		return nil, fmt.Errorf("packages max_file_size must be positive, got %d", o.MaxFileSize)
	}
	p := &Packages{maxFile: cmp.Or(o.MaxFileSize, DefaultMaxDatabaseFile), digests: o.Digests}
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

func (s *packagesScan) Digests(_ int, _ string, d index.ContentDigests) error {
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
