package auditor

// The per-image package types a store keeps (imagepkg resolves them): in
// the root package so that a store implements imagepkg.Store without
// importing the resolver.

// VisibleFile is one visible entry of an image's merged view.
type VisibleFile struct {
	Path string
	Type EntryType // a hardlink's is its target's (TypeFile for a file)
	// LinkTarget of a symlink.
	LinkTarget string
	// SHA256, MD5 and SHA1 of a regular file's content (MD5 and SHA1 empty
	// when the store has none).
	SHA256, MD5, SHA1 string
	// Replaced are the digests of the regular files this path held in
	// lower layers of the image (overwritten, or deleted and written
	// again), those the store has an md5 or sha1 of: a package record that
	// one of them met is not met by other content, though that content has
	// no digest of its own (written through a link from a path the scan
	// does not hash).
	Replaced []ContentDigests
}

// CapturedFile is an entry of an image, visible or not, whose bytes a
// scanner captured (a package database file or os-release).
type CapturedFile struct {
	// Path is where the entry lands in the merged view; Name is the path
	// its layer named it by (they differ when a parent is a symlink).
	Path, Name string
	// Position is the entry's layer; HiddenBy the layer that deleted it
	// (a whiteout or an opaque directory), -1 when none did (an entry
	// overwritten by a later one is replaced by it).
	Position, HiddenBy int
	Visible            bool
	SHA256             string
	// Layer is the digest of the entry's layer.
	Layer string
}

// ImagePackage is one installed package of an image.
type ImagePackage struct {
	Manager, Name, Version, Architecture string
	SourceName, SourceVersion            string
	// LayerPosition is the layer that last changed the package's records.
	LayerPosition int
	// RecordsDigest fingerprints the package's records
	// (pkgdb.Package.RecordsDigest).
	RecordsDigest string
}

// PackageFile is one file record of a package, judged.
type PackageFile struct {
	Package string
	// Path is the record's path in the merged view (its parents resolved
	// through the image's symlinks); RecordedPath the database's.
	Path, RecordedPath string
	// Algorithm of the Expected and Actual digests (lowercase hex).
	Algorithm, Expected, Actual string
	// Status is one of ok, modified, missing, conffile-modified, excluded,
	// diverted, not-verifiable.
	Status string
}

// PathOwner is a visible path and the packages that own it ("a, b" when
// several do, as dpkg -S names them).
type PathOwner struct {
	Path, Packages string
}

// OSRelease is what an image's os-release names.
type OSRelease struct {
	ID, VersionID, PrettyName string
}

// ImagePackages are the packages of one image.
type ImagePackages struct {
	Packages []ImagePackage
	Files    []PackageFile
	Owners   []PathOwner
	OS       OSRelease
	// Err names each database file that did not parse (the rest is kept);
	// nil when all did.
	Err error
}
