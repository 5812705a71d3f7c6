package index_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/index"
)

var (
	umociStacks = flag.Int("umoci.stacks", 200, "random layer stacks TestMergedViewMatchesUmoci compares")
	umociSeed   = flag.Uint64("umoci.seed", 0, "seed of TestMergedViewMatchesUmoci's stacks (0: from the clock)")
)

// TestMergedViewMatchesUmoci is a differential test of the merged view
// against umoci unpack, an extractor that follows the OCI image spec: random
// layer stacks (files, directories, symlinks, symlinked parents, hardlinks
// in and across layers, whiteouts, opaque directories, files replacing
// directories and back, duplicate names, "./" and "/" prefixes, layers
// listed twice) are written as one OCI layout, scanned by auditor, and
// unpacked by umoci; every stack umoci unpacks must show, in image_files'
// visible rows, exactly the rootfs: paths, types, modes, owners, content
// hashes and link targets. Stacks umoci refuses (a link loop, a hardlink
// to nothing or to a directory, an entry beneath a file) are counted, not
// compared: the spec leaves them open (README, image_files). The seed is
// logged; -umoci.seed replays a run and -umoci.stacks makes it longer.
func TestMergedViewMatchesUmoci(t *testing.T) {
	umoci, err := exec.LookPath("umoci")
	if err != nil {
		t.Skip("umoci not installed (.ci/run installs it)")
	}
	seed := *umociSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (-umoci.seed=%d replays it)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 12))
	dir := t.TempDir()
	lay, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	stacks := make([]randomStack, *umociStacks)
	for i := range stacks {
		stacks[i] = newRandomStack(r)
		img, err := stacks[i].image()
		if err != nil {
			t.Fatal(err)
		}
		if stacks[i].digest, err = img.Digest(); err != nil {
			t.Fatal(err)
		}
		if err := lay.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": fmt.Sprint("s", i)})); err != nil {
			t.Fatal(err)
		}
	}

	ctx := context.Background()
	db, err := index.Open(ctx, filepath.Join(dir, "i.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var errMu sync.Mutex
	cr, err := crawl.New(db, crawl.Options{Jobs: 2, OnError: func(e auditor.ScanError) {
		errMu.Lock()
		defer errMu.Unlock()
		t.Errorf("scan: %s %s: %s", e.Reference, e.LayerDigest, e.Message)
	}})
	if err != nil {
		t.Fatal(err)
	}
	target, err := crawl.ParseTarget("oci:" + filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cr.Scan(ctx, []crawl.Target{target}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	compared, refused, moved := 0, map[string]int{}, 0
	work := make(chan int)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				bundle := filepath.Join(dir, fmt.Sprint("b", i))
				out, err := exec.Command(umoci, "unpack", "--image", filepath.Join(dir, "oci")+":"+fmt.Sprint("s", i), bundle).CombinedOutput()
				if err != nil {
					mu.Lock()
					refused[refusal(string(out))]++
					mu.Unlock()
					os.RemoveAll(bundle)
					continue
				}
				want, err := rootfsView(filepath.Join(bundle, "rootfs"))
				os.RemoveAll(bundle)
				if err != nil {
					t.Error(err)
					continue
				}
				got, n, err := auditorView(db, stacks[i].digest.String())
				if err != nil {
					t.Error(err)
					continue
				}
				if d := diffViews(got, want); d != "" {
					t.Errorf("stack s%d differs from umoci unpack (seed %d):\n%s\nlayers:\n%s", i, seed, d, stacks[i])
				}
				mu.Lock()
				compared++
				moved += n
				mu.Unlock()
			}
		}()
	}
	for i := range stacks {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Logf("compared %d, refused %v, moved %d", compared, refused, moved)
	if compared < len(stacks)/2 {
		t.Errorf("umoci unpacked only %d of %d stacks (refused: %v): the comparison proves little", compared, len(stacks), refused)
	}
	if moved < compared/10 {
		t.Errorf("only %d entries written through a link in %d stacks: the comparison proves little", moved, compared)
	}
}

// refusal names why umoci refused a stack, from its output.
func refusal(out string) string {
	for _, s := range []string{"too many levels of symbolic links", "no such file or directory", "not a directory", "operation not permitted", "file exists", "is a directory"} {
		if strings.Contains(out, s) {
			return s
		}
	}
	return strings.TrimSpace(out)
}

// fileView is what is compared of one path of a filesystem.
type fileView struct {
	typ      string // file, dir, symlink, other
	mode     int64  // permission bits with setuid, setgid and sticky; not for symlinks
	uid, gid int64
	sha256   string // of a file's content
	link     string // a symlink's target
	implicit bool   // a directory no entry gives: only its type counts
}

func (v fileView) String() string {
	if v.implicit {
		return v.typ + " (implicit)"
	}
	return fmt.Sprintf("%s %04o %d:%d %.12s %s", v.typ, v.mode, v.uid, v.gid, v.sha256, v.link)
}

// rootfsView reads an unpacked rootfs.
func rootfsView(root string) (map[string]fileView, error) {
	out := map[string]fileView{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		v := fileView{mode: int64(fi.Mode().Perm()), uid: int64(st.Uid), gid: int64(st.Gid)}
		for bit, m := range map[os.FileMode]int64{os.ModeSetuid: 0o4000, os.ModeSetgid: 0o2000, os.ModeSticky: 0o1000} {
			if fi.Mode()&bit != 0 {
				v.mode |= m
			}
		}
		switch {
		case fi.Mode().IsRegular():
			v.typ = "file"
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			v.sha256 = hex.EncodeToString(sum[:])
		case fi.IsDir():
			v.typ = "dir"
		case fi.Mode()&os.ModeSymlink != 0:
			v.typ, v.mode = "symlink", 0
			if v.link, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			v.typ = "other"
		}
		out["/"+filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))] = v
		return nil
	})
	return out, err
}

// auditorView reads an image's visible files from image_files, with the
// directories they imply, and counts the entries written through a link.
func auditorView(db *index.DB, digest string) (map[string]fileView, int, error) {
	rows, err := db.Reader().Query(`SELECT DISTINCT path, type, mode, uid, gid, COALESCE(sha256, ''), COALESCE(linkname, ''),
		written_via IS NOT NULL FROM image_files WHERE image_digest = ? AND visible AND type NOT IN ('whiteout', 'opaque')`, digest)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := map[string]fileView{}
	moved := 0
	for rows.Next() {
		var p string
		var v fileView
		var via bool
		if err := rows.Scan(&p, &v.typ, &v.mode, &v.uid, &v.gid, &v.sha256, &v.link, &via); err != nil {
			return nil, 0, err
		}
		if via {
			moved++
		}
		switch v.typ {
		case "file", "hardlink":
			v.typ, v.link = "file", ""
		case "dir":
			v.sha256, v.link = "", ""
		case "symlink":
			v.mode, v.sha256 = 0, ""
		default:
			v.typ = "other"
		}
		if p != "/" {
			out[p] = v
		}
	}
	for p := range out {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := out[d]; !ok {
				out[d] = fileView{typ: "dir", implicit: true}
			}
		}
	}
	return out, moved, rows.Err()
}

func diffViews(got, want map[string]fileView) string {
	var paths []string
	for p := range got {
		paths = append(paths, p)
	}
	for p := range want {
		if _, ok := got[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		g, inGot := got[p]
		w, inWant := want[p]
		switch {
		case !inGot && w.typ == "dir" && w.mode == 0o755 && w.uid == 0 && w.gid == 0:
			// A directory umoci made for an entry beneath it, which no
			// entry names; auditor has no row for it, and it stays when a
			// whiteout deletes what was beneath.
		case !inGot:
			fmt.Fprintf(&b, "  %s: umoci %v, auditor nothing\n", p, w)
		case !inWant:
			fmt.Fprintf(&b, "  %s: auditor %v, umoci nothing\n", p, g)
		case g.implicit && g.typ == w.typ:
		case g != w:
			fmt.Fprintf(&b, "  %s: auditor %v, umoci %v\n", p, g, w)
		}
	}
	return b.String()
}

// randomStack is a random image: tar layers (each listed by position) and
// their entries, for the failure message.
type randomStack struct {
	layers    [][]stackEntry
	positions []int // the layers, bottom first: an index may come twice
	digest    v1.Hash
}

type stackEntry struct {
	tar.Header
	body string
}

func (s randomStack) String() string {
	var b strings.Builder
	for pos, i := range s.positions {
		fmt.Fprintf(&b, "  %d:", pos)
		for _, h := range s.layers[i] {
			h := h.Header
			fmt.Fprintf(&b, " %c:%s", h.Typeflag, h.Name)
			if h.Linkname != "" {
				fmt.Fprintf(&b, "->%s", h.Linkname)
			}
			if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeDir {
				fmt.Fprintf(&b, "(%04o %d)", h.Mode, h.Uid)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func newRandomStack(r *rand.Rand) randomStack {
	names := []string{"a", "b", "c", "usr", "bin"}
	targets := []string{"a", "b", "../a", "/usr", "/a/b", "c/..", "../../..", "/", "usr/bin", "bin", "../c/a"}
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	randPath := func() string {
		var parts []string
		for range 1 + r.IntN(3) {
			parts = append(parts, pick(names))
		}
		return strings.Join(parts, "/")
	}
	// Files mostly have names no directory has: a file in the way of a
	// directory makes umoci refuse the stack ("not a directory").
	leaves := []string{"f", "g", "h"}
	filePath := func() string {
		if r.IntN(8) == 0 {
			return randPath()
		}
		return path.Join(path.Dir(randPath()), pick(leaves))
	}
	prefixed := func(p string) string { return pick([]string{"", "", "./", "/"}) + p }
	var s randomStack
	var seen []string // paths of files and links
	for range 1 + r.IntN(4) {
		if len(s.layers) > 0 && r.IntN(6) == 0 { // a layer listed again
			s.positions = append(s.positions, s.positions[r.IntN(len(s.positions))])
			continue
		}
		var hs []stackEntry
		for range 1 + r.IntN(7) {
			p := randPath()
			k := r.IntN(20)
			if k < 7 || k >= 14 && k < 16 {
				p = filePath()
			}
			var body string
			h := tar.Header{Name: prefixed(p), Mode: 0o644, Uid: pick2(r, 0, 1, 42), Gid: pick2(r, 0, 7), Format: tar.FormatPAX}
			switch {
			case k < 7:
				h.Typeflag = tar.TypeReg
				h.Mode = int64([]int{0o644, 0o755, 0o4755, 0o600, 0o2711}[r.IntN(5)])
				body = pick([]string{"x", "yy", "", "zzz"}) + p
				h.Size = int64(len(body))
			case k < 11:
				h.Typeflag = tar.TypeDir
				h.Name += "/"
				// Never 0755 root:root, which is how umoci makes the
				// directories no entry names (see diffViews).
				h.Mode = int64([]int{0o750, 0o700, 0o711}[r.IntN(3)])
			case k < 14:
				h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, pick(targets), 0o777
				if r.IntN(2) == 0 { // a top-level link, more often a parent
					p = pick(names)
					h.Name = prefixed(p)
				}
			case k < 16 && len(seen) > 0:
				h.Typeflag, h.Linkname = tar.TypeLink, prefixed(pick(seen))
				h.Mode = int64([]int{0o644, 0o755}[r.IntN(2)])
			case k < 18:
				h.Typeflag, h.Name = tar.TypeReg, prefixed(path.Join(path.Dir(p), ".wh."+path.Base(p)))
				h.Mode, h.Uid, h.Gid = 0o644, 0, 0
			default:
				h.Typeflag, h.Name = tar.TypeReg, prefixed(path.Join(p, ".wh..wh..opq"))
				h.Mode, h.Uid, h.Gid = 0o644, 0, 0
			}
			if h.Typeflag == tar.TypeReg && !strings.HasPrefix(path.Base(h.Name), ".wh.") || h.Typeflag == tar.TypeLink {
				seen = append(seen, p)
			}
			hs = append(hs, stackEntry{h, body})
		}
		// Whiteouts first, as the spec recommends and builders write them:
		// auditor applies a layer's whiteouts before its other entries (the
		// spec: they apply to lower layers only), umoci and containerd in tar
		// order, which differs where a layer writes through a link that its
		// own later whiteout deletes (README, image_files).
		sort.SliceStable(hs, func(i, j int) bool {
			return strings.HasPrefix(path.Base(hs[i].Name), ".wh.") && !strings.HasPrefix(path.Base(hs[j].Name), ".wh.")
		})
		s.layers = append(s.layers, hs)
		s.positions = append(s.positions, len(s.layers)-1)
	}
	return s
}

func pick2(r *rand.Rand, v ...int) int { return v[r.IntN(len(v))] }

// image builds the stack as an OCI image of uncompressed layers.
func (s randomStack) image() (v1.Image, error) {
	var layers []v1.Layer
	for _, hs := range s.layers {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, e := range hs {
			if err := tw.WriteHeader(&e.Header); err != nil {
				return nil, err
			}
			if _, err := tw.Write([]byte(e.body)); err != nil {
				return nil, err
			}
		}
		if err := tw.Close(); err != nil {
			return nil, err
		}
		layers = append(layers, static.NewLayer(b.Bytes(), types.OCIUncompressedLayer))
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	for _, i := range s.positions {
		if img, err = mutate.AppendLayers(img, layers[i]); err != nil {
			return nil, err
		}
	}
	return img, nil
}
