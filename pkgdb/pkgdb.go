// Package pkgdb reads the package databases of container images (dpkg, apk
// and rpm) from their bytes, and judges a file of an image against what its
// package recorded, as debsums, rpm -V and apk audit do inside a running
// system.
//
// Nothing here touches the index or the disk of the caller's choosing: every
// parser takes the bytes of one database file, as the layer reader captured
// them, and returns records or an error naming the file and what was wrong
// with it. Inputs are hostile: each parser is bounded by Limits (size, number
// of records, length of a line) and refuses NUL bytes in text formats, so a
// corrupt or crafted database costs at most its capped size and gives one
// clear error. No parser keeps a reference to the bytes it is given, so a
// caller may reuse its buffer once a call returns.
//
// A layer scanner keeps the files IsDatabasePath accepts (at most
// DefaultLimits.MaxFileSize(path) bytes each) and hands them to ReadDpkg, ReadAPK
// and ParseRPM; Verify then judges each file record against what the
// image shows at its path.
package pkgdb

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
)

// IsDatabasePath reports whether p (absolute, clean) is a file of a package
// database pkgdb reads: IsDpkgPath, IsAPKPath or IsRPMPath.
func IsDatabasePath(p string) bool {
	return IsDpkgPath(p) || IsAPKPath(p) || IsRPMPath(p)
}

// Manager names a package manager.
type Manager string

// The package managers whose databases pkgdb reads.
const (
	Dpkg Manager = "dpkg"
	APK  Manager = "apk"
	RPM  Manager = "rpm"
)

// Algorithm names the digest a package database records for a file's
// content. Digests are kept as lowercase hex.
type Algorithm string

// The digest algorithms package databases use. SHA256_160 is apk's
// sha256 cut to its first 160 bits (packages whose f: flags hold S).
const (
	NoDigest   Algorithm = ""
	MD5        Algorithm = "md5"
	SHA1       Algorithm = "sha1"
	SHA256     Algorithm = "sha256"
	SHA256_160 Algorithm = "sha256-160"
	SHA224     Algorithm = "sha224"
	SHA384     Algorithm = "sha384"
	SHA512     Algorithm = "sha512"
)

// Flags qualify a file record.
type Flags uint8

// File record flags.
const (
	// Conffile: a configuration file (dpkg conffile, rpm %config, a file
	// under an apk protected path); a changed one is expected, not tampering.
	Conffile Flags = 1 << iota
	// Ghost: rpm %ghost, owned but never installed with content.
	Ghost
	// Dir: the record is a directory.
	Dir
	// Symlink: the record is a symbolic link; its digest, when it has one
	// (apk), is over the link target string.
	Symlink
	// Obsolete: a dpkg conffile the package no longer ships.
	Obsolete
	// ConfigSymlink: a configuration file when it is a symlink (apk's "@"
	// protected paths, like etc/init.d: its links are config, its files not).
	ConfigSymlink
)

// Package is one package of a database.
type Package struct {
	Manager      Manager
	Name         string
	Version      string
	Architecture string
	// SourceName and SourceVersion name the source package; they equal
	// Name and Version when the database names no other.
	SourceName    string
	SourceVersion string
	// Status is dpkg's Status field as recorded ("install ok installed"),
	// empty for the other managers.
	Status string
	// Installed reports whether the package's files are on the system:
	// for dpkg a Status whose state is installed or half-configured (as
	// debsums decides: "install ok installed", "hold ok installed"), or a
	// distroless status.d stanza without a Status field; apk and rpm
	// databases hold installed packages only.
	Installed bool
	// Files lists what the package installed, in database order. For dpkg
	// it is filled by ReadDpkg (the status file alone only names
	// conffiles).
	Files []File
}

// File is what a package database records about one path.
type File struct {
	// Path is absolute and clean.
	Path string
	// Algorithm and Digest are the expected content digest (lowercase hex);
	// NoDigest and "" when the record holds none (directories, dpkg
	// symlinks, files dpkg has no md5sum for).
	Algorithm Algorithm
	Digest    string
	Flags     Flags
	// LinkTarget is the target a Symlink record expects (rpm's
	// FILELINKTOS); empty when the database does not say.
	LinkTarget string
}

// Limits bound what one database may cost.
type Limits struct {
	// MaxSize is the largest database file accepted, in bytes.
	MaxSize int64
	// MaxTextSize is the largest text database file (dpkg, apk) accepted,
	// when smaller than MaxSize (0: MaxSize).
	MaxTextSize int64
	// MaxRecords bounds packages plus files of one database file.
	MaxRecords int
	// MaxLine is the longest line of a text database.
	MaxLine int
}

// DefaultLimits are generous for real systems (a full Fedora desktop's
// rpmdb.sqlite is ~150 MB, a container's ~10 MB; a Debian desktop's dpkg
// status ~10 MB) and bound hostile ones.
var DefaultLimits = Limits{MaxSize: 256 << 20, MaxTextSize: 64 << 20, MaxRecords: 8 << 20, MaxLine: 64 << 10}

// MaxFileSize is the size limit of the database file at p: MaxSize for an
// rpm database, the text limit for the others.
func (lim Limits) MaxFileSize(p string) int64 {
	if IsRPMPath(p) || lim.MaxTextSize <= 0 || lim.MaxTextSize > lim.MaxSize {
		return lim.MaxSize
	}
	return lim.MaxTextSize
}

// Errors every parser wraps, so callers can tell a refused database from a
// malformed one with errors.Is.
var (
	// ErrTooLarge: the database exceeds a Limits bound.
	ErrTooLarge = errors.New("package database over the size limits")
	// ErrMalformed: the database does not parse.
	ErrMalformed = errors.New("malformed package database")
)

// malformed returns an error naming the file, and the line when known.
func malformed(name string, line int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		return fmt.Errorf("%s line %d: %s: %w", name, line, msg, ErrMalformed)
	}
	return fmt.Errorf("%s: %s: %w", name, msg, ErrMalformed)
}

// checkText refuses text databases over the size limit or holding a NUL
// byte (never written by dpkg or apk; a sign of corruption or a crafted
// file).
func checkText(name string, data []byte, lim Limits) error {
	limit := lim.MaxSize
	if lim.MaxTextSize > 0 && lim.MaxTextSize < limit {
		limit = lim.MaxTextSize
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("%s: %d bytes, limit %d: %w", name, len(data), limit, ErrTooLarge)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return malformed(name, 1+bytes.Count(data[:i], []byte("\n")), "NUL byte at offset %d", i)
	}
	return nil
}

// textLines checks a text database (checkText) and splits it into lines,
// refusing more than lim.MaxRecords of them.
func textLines(name string, data []byte, lim Limits) ([]string, error) {
	if err := checkText(name, data, lim); err != nil {
		return nil, err
	}
	ls, err := lines(name, data, lim)
	if err != nil {
		return nil, err
	}
	if len(ls) > lim.MaxRecords {
		return nil, tooMany(name, lim)
	}
	return ls, nil
}

// lines splits text into lines (without their "\n"), refusing one longer
// than lim.MaxLine.
func lines(name string, data []byte, lim Limits) ([]string, error) {
	ls := strings.Split(string(data), "\n")
	if len(ls) > 0 && ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	for i, l := range ls {
		if len(l) > lim.MaxLine {
			return nil, fmt.Errorf("%s line %d: %d bytes, limit %d: %w", name, i+1, len(l), lim.MaxLine, ErrTooLarge)
		}
	}
	return ls, nil
}

// absPath makes a database path absolute and clean ("usr/bin/ls" and
// "/usr/bin/../bin/ls" give "/usr/bin/ls").
func absPath(p string) string {
	return path.Clean("/" + p)
}

// isHex reports whether s is n lowercase or uppercase hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// quote shows a hostile fragment in an error: quoted, and cut to 80 bytes.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return fmt.Sprintf("%q", s)
}
