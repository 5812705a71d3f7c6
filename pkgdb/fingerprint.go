package pkgdb

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// RecordsDigest fingerprints what a package's database records: its
// manager, name, version and architecture, and every file record (path,
// algorithm, digest, flags, link target), in path order. Two images whose
// packages of the same name, version and architecture differ here hold
// different records: one of them was rewritten (an attacker who changed a
// binary and its md5sums line, say), which no check inside one image can
// see.
func (p Package) RecordsDigest() string {
	files := slices.Clone(p.Files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	for _, s := range []string{string(p.Manager), p.Name, p.Version, p.Architecture} {
		field(s)
	}
	for _, f := range files {
		field(f.Path)
		field(string(f.Algorithm))
		field(f.Digest)
		field(strconv.Itoa(int(f.Flags)))
		field(f.LinkTarget)
	}
	return hex.EncodeToString(h.Sum(nil))
}
