package pkgdb

import (
	"testing"
)

// The parsers take image bytes: whatever they get, they return records or
// an error, never panic. The seeds run with the unit tests; go test
// -fuzz=FuzzX explores further.

func FuzzDpkg(f *testing.F) {
	f.Add([]byte("Package: a\nStatus: install ok installed\nSource: b (1)\nConffiles:\n /etc/x 0123456789abcdef0123456789abcdef obsolete\n"), []byte("0123456789abcdef0123456789abcdef  usr/bin/a\n"), []byte("/a\n/b\na\n"))
	f.Add([]byte(" \n:\n\n"), []byte(" \n"), []byte("/x\n/y\n"))
	f.Fuzz(func(t *testing.T, status, md5sums, diversions []byte) {
		db, _ := ReadDpkg(map[string][]byte{
			DpkgStatus:                         status,
			DpkgInfo + "/a.md5sums":            md5sums,
			DpkgInfo + "/a.list":               diversions,
			DpkgDiversions:                     diversions,
			DpkgConfigD + "/x":                 status,
			"/var/lib/dpkg/status.d/a":         md5sums,
			"/var/lib/dpkg/status.d/a.md5sums": md5sums,
		}, small)
		if db == nil {
			t.Fatal("no database")
		}
		for _, p := range db.Packages {
			for _, f := range p.Files {
				if f.Path == "" || f.Path[0] != '/' {
					t.Fatalf("path %q", f.Path)
				}
				Verify(f, Observed{Kind: Regular, MD5: f.Digest})
			}
		}
		db.Filters.Excluded("/usr/share/doc/a", true)
	})
}

func FuzzAPK(f *testing.F) {
	f.Add([]byte("P:a\nV:1\nf:S\nF:bin\nR:x\nZ:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"), []byte("+etc\n@etc/init.d\n-x/*/y\n"))
	f.Fuzz(func(t *testing.T, installed, list []byte) {
		db, _ := ReadAPK(map[string][]byte{APKInstalled: installed, APKProtectedPaths + "/a.list": list}, small)
		for _, p := range db.Packages {
			for _, f := range p.Files {
				db.Protected.Mode(f.Path)
				Verify(f, Observed{Kind: Link, LinkTarget: f.Path})
			}
		}
	})
}

// FuzzRPMLayouts feeds the walks that guard go-rpmdb: a panic or hang
// there is one in the library's goroutine after it.
func FuzzRPMLayouts(f *testing.F) {
	hdr := []byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 3, 232, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0}
	f.Add(ndbFile([][]byte{hdr}))
	f.Add(bdbFile([][]byte{hdr, hdr}, 512))
	f.Add(hdr)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 16 && isBDBMagic(data[12:16]) {
			bdbBlobs(data)
		}
		ndbBlobs(data)
		headerLinks(data)
		if blobs, err := ndbBlobs(data); err == nil {
			for _, b := range blobs {
				headerLinks(b)
			}
		}
	})
}
