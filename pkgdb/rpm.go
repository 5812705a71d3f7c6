package pkgdb

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	rpmdb "github.com/anchore/go-rpmdb/pkg"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to read rpmdb.sqlite
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
// The header parser is github.com/anchore/go-rpmdb's. It opens databases
// by path only, its BerkeleyDB and NDB readers trust the file's offsets (a
// page chain that loops makes them run forever, an entry past its page
// panics in a goroutine, a blob length allocates up to 4 GiB), and a header
// that does not parse leaves its reader goroutine blocked for good, holding
// the file. So ParseRPM takes the headers out itself, in memory and bounded
// by the file's own size (the BerkeleyDB and NDB layouts walked, each page
// at most once; an rpmdb.sqlite's Packages table read with the SQLite
// driver we ship, from a private temporary copy), and hands go-rpmdb one
// header at a time as a one-entry NDB file it writes to a private temporary
// directory: the database's bytes only, never other image content. A
// header that does not parse is named in the returned error; the packages
// of the others are returned with it. go-rpmdb does not read FILELINKTOS:
// ParseRPM reads it from each header itself, so a symlink record holds the
// target rpm -V compares.
func ParseRPM(name string, data []byte, lim Limits) ([]Package, error) {
	if int64(len(data)) > lim.MaxSize {
		return nil, fmt.Errorf("%s: %d bytes, limit %d: %w", name, len(data), lim.MaxSize, ErrTooLarge)
	}
	dir, err := os.MkdirTemp("", "auditor-rpmdb-")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer os.RemoveAll(dir)
	var blobs [][]byte
	switch {
	case bytes.HasPrefix(data, sqliteMagic):
		if blobs, err = sqliteBlobs(dir, data); err != nil {
			return nil, malformed(name, 0, "SQLite: %s", err.Error())
		}
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
	var pkgs []Package
	var errs []error
	records := 0
	for i, blob := range blobs {
		pi, err := parseHeader(dir, blob)
		var p Package
		if err == nil {
			_, links, lerr := headerLinks(blob)
			if lerr != nil || len(links) != len(pi.BaseNames) {
				links = nil // the links stay not-verifiable
			}
			p, err = rpmPackage(pi, links)
		}
		if err != nil {
			errs = append(errs, malformed(name, 0, "header %d: %s", i+1, err.Error()))
			continue
		}
		records += 1 + len(p.Files)
		if records > lim.MaxRecords {
			return nil, tooMany(name, lim)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, errors.Join(errs...)
}

// parseHeader has go-rpmdb parse one header, written as a one-entry NDB
// file in dir: its reader then ends after that entry whatever the parse
// gives, so no goroutine is left behind.
func parseHeader(dir string, blob []byte) (_ *rpmdb.PackageInfo, err error) {
	p := dir + "/Packages.db"
	if err := os.WriteFile(p, ndbFile([][]byte{blob}), 0o600); err != nil {
		return nil, err
	}
	db, err := rpmdb.Open(p)
	if err != nil {
		return nil, err
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
	if err != nil {
		return nil, err
	}
	if len(infos) != 1 {
		return nil, fmt.Errorf("%d packages in one header", len(infos))
	}
	return infos[0], nil
}

// sqliteBlobs reads the header blobs of an rpmdb.sqlite, from a private
// copy in dir opened read-only.
func sqliteBlobs(dir string, data []byte) (_ [][]byte, err error) {
	p := dir + "/rpmdb.sqlite"
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return nil, err
	}
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
