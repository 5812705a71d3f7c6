package pkgdb

import (
	"archive/tar"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"github.com/klauspost/compress/gzip"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/auditor-dev/auditor/internal/fleettest"
)

// debianLayer is the one layer of the fleet's library/debian:bookworm
// (debootstrap minbase, trimmed as debian:bookworm-slim is).
const debianLayer = "1660d00e467f13fd9ee92634656f86bfd27addfadc26c2e49a73252c76a83585"

// entry is what a test layer holds at a path.
type entry struct {
	kind       Kind
	linkTarget string
	md5, sha1  string
	sha256     string
}

// tarLayer is a layer read from its blob with archive/tar, never extracted:
// its entries by absolute path, and the bytes of the files keep asks for.
type tarLayer struct {
	entries map[string]entry
	files   map[string][]byte
}

// keptFiles are the files whose bytes the test layers keep.
func keptFiles(p string) bool {
	return IsDatabasePath(p) || slices.Contains(OSReleasePaths, p)
}

var (
	layersMu sync.Mutex
	layers   = map[string]*tarLayer{}
)

// readFleetLayer streams the gzip layer blob digest of the fleet's OCI
// layout, hashing every regular file and keeping the bytes of keptFiles.
// Layers are read once per test binary: tests must not change them.
func readFleetLayer(t *testing.T, digest string) *tarLayer {
	t.Helper()
	layersMu.Lock()
	defer layersMu.Unlock()
	if l := layers[digest]; l != nil {
		return l
	}
	f, err := os.Open(filepath.Join(fleettest.Dir(t), "images", "oci", "blobs", "sha256", digest))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("fleet layout: %v", err)
		}
		t.Skipf("fleet layout (set FLEET_SHARED): %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	l := &tarLayer{entries: map[string]entry{}, files: map[string][]byte{}}
	tr := tar.NewReader(zr)
	hardlinks := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := absPath(h.Name)
		switch h.Typeflag {
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			l.entries[p] = contentEntry(data)
			if keptFiles(p) {
				l.files[p] = data
			}
		case tar.TypeLink:
			hardlinks[p] = absPath(h.Linkname)
		case tar.TypeSymlink:
			l.entries[p] = entry{kind: Link, linkTarget: h.Linkname}
		case tar.TypeDir:
			l.entries[p] = entry{kind: Directory}
		default:
			l.entries[p] = entry{kind: Other}
		}
	}
	for p, to := range hardlinks {
		l.entries[p] = l.entries[to]
	}
	layers[digest] = l
	return l
}

func contentEntry(data []byte) entry {
	m := md5.Sum(data)
	s1 := sha1.Sum(data)
	s256 := sha256.Sum256(data)
	return entry{kind: Regular, md5: hex.EncodeToString(m[:]), sha1: hex.EncodeToString(s1[:]), sha256: hex.EncodeToString(s256[:])}
}

// resolve follows the symlinks of p's parents inside the image (relative
// and absolute targets, clamped at the root, as a runtime extracting the
// image does) and, when final is set, of p itself. lookup tells what the
// image holds at a resolved path.
func resolve(p string, final bool, lookup func(string) entry) string {
	parts := strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/")
	cur := "/"
	for hops := 0; len(parts) > 0; {
		name := parts[0]
		parts = parts[1:]
		if name == "" || name == "." {
			continue
		}
		next := path.Join(cur, name)
		e := lookup(next)
		if e.kind == Link && (len(parts) > 0 || final) {
			if hops++; hops > 40 {
				return next // a loop: leave it unresolved
			}
			target := e.linkTarget
			if !strings.HasPrefix(target, "/") {
				target = path.Join(cur, target)
			}
			parts = append(strings.Split(strings.TrimPrefix(path.Clean(target), "/"), "/"), parts...)
			cur = "/"
			continue
		}
		cur = next
	}
	return cur
}

// observe is what the layer shows at a record's path, debsums-style (the
// final symlink followed).
func (l *tarLayer) observe(p string) Observed {
	lookup := func(q string) entry { return l.entries[q] }
	e := lookup(resolve(p, true, lookup))
	return Observed{Kind: e.kind, LinkTarget: e.linkTarget, MD5: e.md5, SHA1: e.sha1, SHA256: e.sha256}
}
