package pkgdb

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"strings"
)

// Status is the verdict on one file record, as debsums, rpm -V or apk
// audit would give it.
type Status string

// The verdicts of Verify.
const (
	// OK: the image holds what the package installed.
	OK Status = "ok"
	// Modified: the content (or type, or link target) differs.
	Modified Status = "modified"
	// Missing: nothing at the path.
	Missing Status = "missing"
	// ConffileModified: a configuration file differs; expected in real
	// images, not tampering by itself.
	ConffileModified Status = "conffile-modified"
	// Excluded: absent because dpkg's path-exclude skipped it (minimised
	// images drop docs on purpose).
	Excluded Status = "excluded"
	// Diverted: dpkg-divert moved the package's file elsewhere; the path
	// holds the diverting package's file.
	Diverted Status = "diverted"
	// NotVerifiable: the record holds no digest for a regular file, nor a
	// target or digest for a symlink, its algorithm is one the image's
	// digests do not cover, or it is a ghost or obsolete record.
	NotVerifiable Status = "not-verifiable"
)

// Kind is the type of what an image holds at a path.
type Kind uint8

// Kinds of Observed.
const (
	Absent Kind = iota
	Regular
	Directory
	Link // a symbolic link
	Other
)

// Observed is what the image shows at a record's path, resolved the way
// the caller's tool would (debsums follows a final symlink, rpm -V and apk
// audit do not: the caller decides and fills Observed accordingly).
type Observed struct {
	Kind Kind
	// Content digests, lowercase hex, of a Regular file: any may be empty
	// when not computed; a record whose algorithm has none is
	// not-verifiable.
	MD5, SHA1, SHA256 string
	// LinkTarget of a Link.
	LinkTarget string
	// Replaced are the digests of other contents the path held before
	// (the files of lower layers a Regular file replaced), when known: a
	// record one of them meets is not met by a file with another SHA256,
	// even when the file has no digest in the record's algorithm.
	Replaced []Digests
	// Excluded: dpkg's path filters skip this path (DpkgFilters.Excluded).
	Excluded bool
	// Diverted: a dpkg diversion by another package moves this package's
	// file away from the path (DivertedTo).
	Diverted bool
}

// Digests are digests of one content, lowercase hex; any may be empty.
type Digests struct {
	SHA256, MD5, SHA1 string
}

// Verify judges one file record against what the image holds at its path.
// It is pure: the caller resolves the path in the image and the dpkg
// filters and diversions that apply.
//
// The order of the checks is that of the tools: a diverted path is not
// the package's to judge; ghosts and obsolete conffiles are not checked;
// an absent path is excluded when a dpkg filter skips it, missing
// otherwise; a directory record wants a directory; a symlink record wants
// a link (with the recorded target, or one whose digest is the record's;
// not-verifiable when the record has neither); a
// record with a digest is also met by a link whose target string has that
// digest (apk: the caller must then not follow the final link, as apk
// audit does not); a file record wants a regular file with the recorded
// digest. A file without a digest in the record's algorithm is
// not-verifiable, unless a content it replaced met the record and its
// SHA256 differs: it then differs (save for a collision in the record's
// algorithm, which debsums would not see either). A file that
// differs is conffile-modified when the record is a conffile.
func Verify(f File, o Observed) Status {
	switch {
	case o.Diverted:
		return Diverted
	case f.Flags&(Ghost|Obsolete) != 0:
		return NotVerifiable
	case o.Kind == Absent:
		if o.Excluded {
			return Excluded
		}
		return Missing
	}
	differs := Modified
	if f.Flags&Conffile != 0 || f.Flags&ConfigSymlink != 0 && o.Kind == Link {
		differs = ConffileModified
	}
	switch {
	case f.Flags&Dir != 0:
		if o.Kind != Directory {
			return differs
		}
		return OK
	case f.Flags&Symlink != 0:
		if o.Kind != Link {
			return differs
		}
		switch {
		case f.Digest != "":
			return linkVerdict(f, o, differs)
		case f.LinkTarget != "":
			if o.LinkTarget != f.LinkTarget {
				return differs
			}
			return OK
		}
		// Nothing to compare the target with: the type is right, the
		// target unchecked.
		return NotVerifiable
	case f.Digest == "":
		// A record without a digest or type (a dpkg .list entry: a
		// directory, a symlink, or a file dpkg keeps no md5 for): presence
		// is all there is to check, and for a regular file it proves
		// nothing about its content.
		if o.Kind == Regular {
			return NotVerifiable
		}
		return OK
	}
	if o.Kind == Link {
		// apk records a symlink's checksum over its target, and a record
		// does not say which of its files are links: a link whose target
		// has the recorded digest is what the package installed. (A dpkg
		// or rpm file record never matches a target string.)
		return linkVerdict(f, o, differs)
	}
	if o.Kind != Regular {
		return differs
	}
	got := observedDigest(f.Algorithm, o)
	if got == "" {
		if replacedMet(f, o) {
			return differs
		}
		return NotVerifiable
	}
	if got != strings.ToLower(f.Digest) {
		return differs
	}
	return OK
}

// replacedMet reports whether a content o replaced, other than o's, met
// the record f.
func replacedMet(f File, o Observed) bool {
	if o.SHA256 == "" {
		return false
	}
	want := strings.ToLower(f.Digest)
	for _, r := range o.Replaced {
		if r.SHA256 != "" && !strings.EqualFold(r.SHA256, o.SHA256) &&
			observedDigest(f.Algorithm, Observed{MD5: r.MD5, SHA1: r.SHA1, SHA256: r.SHA256}) == want {
			return true
		}
	}
	return false
}

// linkVerdict compares a link's target with a record's digest.
func linkVerdict(f File, o Observed, differs Status) Status {
	got, ok := digestOf(f.Algorithm, []byte(o.LinkTarget))
	switch {
	case !ok:
		return NotVerifiable
	case got != strings.ToLower(f.Digest):
		return differs
	}
	return OK
}

// observedDigest is o's content digest in algorithm a, "" when o has none.
func observedDigest(a Algorithm, o Observed) string {
	switch a {
	case MD5:
		return strings.ToLower(o.MD5)
	case SHA1:
		return strings.ToLower(o.SHA1)
	case SHA256:
		return strings.ToLower(o.SHA256)
	case SHA256_160:
		if len(o.SHA256) == 64 {
			return strings.ToLower(o.SHA256[:40])
		}
	}
	return ""
}

// Digest returns data's digest in algorithm a as lowercase hex, false for
// NoDigest or an algorithm pkgdb does not know.
func Digest(a Algorithm, data []byte) (string, bool) {
	return digestOf(a, data)
}

func digestOf(a Algorithm, data []byte) (string, bool) {
	var h hash.Hash
	cut := 0
	switch a {
	case MD5:
		h = md5.New()
	case SHA1:
		h = sha1.New()
	case SHA256:
		h = sha256.New()
	case SHA256_160:
		h, cut = sha256.New(), 20
	case SHA224:
		h = sha256.New224()
	case SHA384:
		h = sha512.New384()
	case SHA512:
		h = sha512.New()
	default:
		return "", false
	}
	h.Write(data)
	sum := h.Sum(nil)
	if cut > 0 {
		sum = sum[:cut]
	}
	return hex.EncodeToString(sum), true
}
