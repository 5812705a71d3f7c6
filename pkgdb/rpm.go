package pkgdb

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	rpmdb "github.com/anchore/go-rpmdb/pkg"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver go-rpmdb opens rpmdb.sqlite with
)

// The rpm database files, in the two places rpm keeps them.
var rpmDirs = []string{"/var/lib/rpm", "/usr/lib/sysimage/rpm"}

// IsRPMPath reports whether an image path is an rpm database ParseRPM
// reads: rpmdb.sqlite, Packages (BerkeleyDB) or Packages.db (NDB) under
// /var/lib/rpm or /usr/lib/sysimage/rpm.
func IsRPMPath(p string) bool {
	switch path.Base(p) {
	case "rpmdb.sqlite", "Packages", "Packages.db":
		for _, d := range rpmDirs {
			if path.Dir(p) == d {
				return true
			}
		}
	}
	return false
}

var (
	sqliteMagic = []byte("SQLite format 3\x00")
	ndbMagic    = []byte("RpmP")
)

// ParseRPM parses the bytes of one rpm database file, of any of its three
// formats (told by content, not name): SQLite (rpm >= 4.16), BerkeleyDB
// hash (older rpm) or NDB (SUSE). Each package has its files with the
// digest algorithm of its FILEDIGESTALGO (MD5 when absent), %config files
// flagged Conffile, %ghost Ghost, directories Dir and symlinks Symlink.
// Version is rpm's [epoch:]version-release; the source package is named
// by its SOURCERPM.
//
// The parser is github.com/anchore/go-rpmdb, which reads from a path: the
// bytes are written to a private temporary file for the time of the call
// (the database only, never other image content). It does not read
// FILELINKTOS: ParseRPM reads that tag from the same headers itself, so a
// symlink record holds the target rpm -V compares. Its BerkeleyDB and NDB
// readers trust the file's offsets (a page chain that loops makes them run
// forever, an entry past its page panics in a goroutine, a blob length
// allocates up to 4 GiB), so ParseRPM first walks those formats itself, in
// memory and bounded by the file's own size, and refuses what the library
// could not survive.
func ParseRPM(name string, data []byte, lim Limits) ([]Package, error) {
	if int64(len(data)) > lim.MaxSize {
		return nil, fmt.Errorf("%s: %d bytes, limit %d: %w", name, len(data), lim.MaxSize, ErrTooLarge)
	}
	var blobs [][]byte
	var err error
	switch {
	case bytes.HasPrefix(data, sqliteMagic):
	case bytes.HasPrefix(data, ndbMagic):
		if blobs, err = ndbBlobs(data); err != nil {
			return nil, malformed(name, 0, "NDB: %s", err.Error())
		}
	case len(data) >= 16 && isBDBMagic(data[12:16]):
		if blobs, err = bdbBlobs(data); err != nil {
			return nil, malformed(name, 0, "BerkeleyDB: %s", err.Error())
		}
	default:
		return nil, malformed(name, 0, "not an rpm database (SQLite, BerkeleyDB hash or NDB)")
	}
	infos, sqlBlobs, err := listRPM(data, blobs == nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrMalformed, err)
	}
	if blobs == nil {
		blobs = sqlBlobs
	}
	links := linkTargets(infos, blobs)
	var pkgs []Package
	records := 0
	for _, pi := range infos {
		p, err := rpmPackage(pi, links[pi])
		if err != nil {
			return nil, malformed(name, 0, "package %s: %s", quote(pi.Name), err.Error())
		}
		records += 1 + len(p.Files)
		if records > lim.MaxRecords {
			return nil, tooMany(name, lim)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// listRPM hands the bytes to go-rpmdb through a temporary file; with
// headers set it also reads the header blobs of an rpmdb.sqlite, in the
// order go-rpmdb lists them.
func listRPM(data []byte, headers bool) (_ []*rpmdb.PackageInfo, blobs [][]byte, err error) {
	dir, err := os.MkdirTemp("", "auditor-rpmdb-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	p := dir + "/db"
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return nil, nil, err
	}
	db, err := rpmdb.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	defer func() {
		// Header parsing runs in this goroutine: a panic on a crafted
		// header is an error, not a crash.
		if r := recover(); r != nil {
			err = fmt.Errorf("rpm header parser: %v", r)
		}
	}()
	infos, err := db.ListPackages()
	if err != nil || !headers {
		return infos, nil, err
	}
	blobs, err = sqliteBlobs(p)
	return infos, blobs, err
}

// sqliteBlobs reads the header blobs of an rpmdb.sqlite.
func sqliteBlobs(p string) (_ [][]byte, err error) {
	db, err := sql.Open("sqlite", "file:"+p+"?mode=ro&immutable=1")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query("SELECT blob FROM Packages")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// linkTargets pairs each package with the FILELINKTOS of its header, the
// headers being in the order go-rpmdb listed the packages. A header that
// does not read, or does not name its package, gives no targets (its
// links are then not-verifiable), never an error: go-rpmdb has accepted
// the database.
func linkTargets(infos []*rpmdb.PackageInfo, blobs [][]byte) map[*rpmdb.PackageInfo][]string {
	out := map[*rpmdb.PackageInfo][]string{}
	if len(infos) != len(blobs) {
		return out
	}
	for i, pi := range infos {
		name, links, err := headerLinks(blobs[i])
		if err == nil && name == pi.Name && len(links) == len(pi.BaseNames) {
			out[pi] = links
		}
	}
	return out
}

// rpmPackage converts go-rpmdb's record.
func rpmPackage(pi *rpmdb.PackageInfo, links []string) (Package, error) {
	evr := pi.Version + "-" + pi.Release
	if pi.Epoch != nil && *pi.Epoch != 0 {
		evr = strconv.Itoa(*pi.Epoch) + ":" + evr
	}
	p := Package{Manager: RPM, Name: pi.Name, Version: evr, Architecture: pi.Arch, Installed: true}
	p.SourceName, p.SourceVersion = sourceRPM(pi.SourceRpm)
	alg := rpmAlgorithm(pi.DigestAlgorithm)
	files, err := pi.InstalledFiles()
	if err != nil {
		return Package{}, err
	}
	for i, fi := range files {
		f := File{Path: absPath(fi.Path)}
		if fi.Digest != "" {
			f.Algorithm, f.Digest = alg, strings.ToLower(fi.Digest)
		}
		if int32(fi.Flags)&rpmdb.RPMFILE_CONFIG != 0 {
			f.Flags |= Conffile
		}
		if int32(fi.Flags)&rpmdb.RPMFILE_GHOST != 0 {
			f.Flags |= Ghost
		}
		switch fi.Mode & 0o170000 {
		case 0o040000:
			f.Flags |= Dir
		case 0o120000:
			f.Flags |= Symlink
			if i < len(links) {
				f.LinkTarget = links[i]
			}
		}
		p.Files = append(p.Files, f)
	}
	return p, nil
}

// sourceRPM splits "name-version-release.src.rpm" into the source name and
// its version-release.
func sourceRPM(s string) (string, string) {
	s = strings.TrimSuffix(strings.TrimSuffix(s, ".src.rpm"), ".nosrc.rpm")
	r := strings.LastIndexByte(s, '-')
	if r <= 0 {
		return s, ""
	}
	v := strings.LastIndexByte(s[:r], '-')
	if v <= 0 {
		return s, ""
	}
	return s[:v], s[v+1:]
}

// rpmAlgorithm maps FILEDIGESTALGO (OpenPGP hash ids) to an Algorithm;
// rpm means MD5 when the tag is absent (0).
func rpmAlgorithm(a rpmdb.DigestAlgorithm) Algorithm {
	switch a {
	case 0, rpmdb.PGPHASHALGO_MD5:
		return MD5
	case rpmdb.PGPHASHALGO_SHA1:
		return SHA1
	case rpmdb.PGPHASHALGO_SHA256:
		return SHA256
	case rpmdb.PGPHASHALGO_SHA384:
		return SHA384
	case rpmdb.PGPHASHALGO_SHA512:
		return SHA512
	case rpmdb.PGPHASHALGO_SHA224:
		return SHA224
	}
	return Algorithm("pgp-hash-" + strconv.Itoa(int(a)))
}
