// Package synth generates a synthetic fleet, deterministically, as the
// layers (auditor.Layer) and images (auditor.Image) a scan would hand the index,
// with the shape real fleets have: a few OS families whose base layers are
// releases sharing most paths and many contents; language-runtime layers
// shared by many images; application layers with deep dependency trees that
// share packages (paths and contents) across applications; small per-tag
// layers with whiteouts. Benchmarks (bench/bigindex, the index package's Go
// benchmarks) feed it through the real writer.
//
// Everything is a pure function of the Spec: the same Spec gives the same
// digests, paths and hashes on every machine.
package synth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/auditor-dev/auditor"
)

// Spec sizes a synthetic fleet. Entry counts are approximate (parent
// directories are added as tar would list them).
type Spec struct {
	Seed uint64
	// Families of base OS (each its own path universe); Bases layers are
	// spread over them as successive releases.
	Families, Bases, BaseFiles int
	// Stacks are language-runtime layers (python, node, jdk, go, ruby
	// versions), StackFiles entries each.
	Stacks, StackFiles int
	// Apps each have one application layer of AppFiles entries and Tags
	// images, each adding its own layer of TagFiles entries.
	Apps, AppFiles, Tags, TagFiles int
}

// Scaled returns a spec of about rows file rows (tar entries), with the
// proportions of a fleet of a few thousand images: ~10% base layers, ~30%
// runtimes, ~50% applications, ~10% per-tag layers.
func Scaled(rows int) Spec {
	s := Spec{Seed: 1, Families: 4, BaseFiles: 12000, StackFiles: 20000, AppFiles: 2500, Tags: 2, TagFiles: 250}
	s.Bases = max(2, rows/10/s.BaseFiles)
	s.Stacks = max(2, rows*3/10/s.StackFiles)
	s.Apps = max(1, rows*6/10/(s.AppFiles+s.Tags*s.TagFiles))
	return s
}

// Rows returns about how many file rows the fleet has.
func (s Spec) Rows() int64 {
	return int64(s.Bases*s.BaseFiles + s.Stacks*s.StackFiles + s.Apps*(s.AppFiles+s.Tags*s.TagFiles))
}

// Images returns how many images the fleet has.
func (s Spec) Images() int { return s.Apps * s.Tags }

// rng returns a generator seeded by the spec and the given keys.
func (s Spec) rng(keys ...uint64) *rand.Rand {
	h := s.Seed*0x9e3779b97f4a7c15 + 1
	for _, k := range keys {
		h = (h ^ k) * 0xbf58476d1ce4e5b9
		h ^= h >> 31
	}
	return rand.New(rand.NewPCG(h, h^0x94d049bb133111eb))
}

// Layer kinds, part of every seed and digest.
const (
	kindBase = iota + 1
	kindStack
	kindApp
	kindTag
	kindContent
)

func digestOf(parts ...any) string {
	h := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return "sha256:" + hex.EncodeToString(h[:])
}

// content returns the sha256 hex of a synthetic file content named by key.
func content(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

var words = strings.Fields(`core util net http crypto json xml yaml log io os sys time text
	encoding compress archive image color font math big rand sort sync atomic unsafe reflect
	runtime debug pprof trace test fmt strings bytes bufio errors flag path filepath regexp
	syntax template html url mime mail smtp tls x509 pem rsa ecdsa ed25519 sha1 sha256 md5
	hash crc32 adler32 fnv base64 hex csv gob binary zlib gzip bzip2 lzw flate tar zip sql
	driver plugin signal exec user cgi fcgi cookie jar httptest httputil pprof rpc jsonrpc
	websocket grpc proto codec buffer stream queue cache store index parse lexer token ast
	printer scanner types constant importer build doc format loader config options client
	server handler router middleware auth session upload download render view model schema
	migrate event bus worker pool task job batch cron timer retry backoff limit metrics
	tracing health status admin api v1 v2 internal vendor common shared helpers tools cli`)

var langs = strings.Fields(`de fr es it pt ru ja zh_CN ko nl pl sv fi da cs hu tr uk el he`)

// pick returns a word.
func pick(r *rand.Rand) string { return words[r.IntN(len(words))] }

// pkgName returns the name of package i of a universe.
func pkgName(universe string, i int) string {
	r := rand.New(rand.NewPCG(uint64(i), uint64(len(universe))*7919+uint64(universe[0])))
	return fmt.Sprintf("%s-%s%d", pick(r), pick(r), i%97)
}

// file is one generated file before it becomes an entry.
type file struct {
	path string
	key  string // names its content: same key, same sha256
	typ  auditor.EntryType
	mode int64
	size int64
	link string
	kind auditor.ContentKind
	uid  int64
}

// subtree appends n files of package pkg under root, in nested directories up
// to depth deep; their content keys are pkg-relative, so the same package
// (and version) has the same hashes wherever it is installed.
func subtree(out []file, r *rand.Rand, root, pkg, version string, n, depth int, exts []string) []file {
	dirs := []string{""}
	for len(dirs) < max(1, n/6) {
		parent := dirs[r.IntN(len(dirs))]
		if strings.Count(parent, "/") >= depth {
			continue
		}
		dirs = append(dirs, parent+"/"+pick(r))
	}
	for i := range n {
		d := dirs[r.IntN(len(dirs))]
		ext := exts[r.IntN(len(exts))]
		name := fmt.Sprintf("%s%s/%s_%d%s", root, d, pick(r), i, ext)
		rel := strings.TrimPrefix(name, root)
		f := file{path: name, key: pkg + "@" + version + ":" + rel, typ: auditor.TypeFile, mode: 0o644, size: fileSize(r)}
		switch ext {
		case ".so", "":
			f.kind, f.mode = auditor.KindELF, 0o755
		case ".sh", ".py":
			if r.IntN(4) == 0 {
				f.kind, f.mode = auditor.KindScript, 0o755
			}
		}
		out = append(out, f)
	}
	return out
}

// fileSize draws a size from a log-normal-ish distribution (median ~4 KB).
func fileSize(r *rand.Rand) int64 {
	v := r.NormFloat64()*2 + 8.3
	return int64(min(max(0, 1<<int(max(0, v))+r.IntN(512)), 64<<20))
}

// layer turns files into a Layer as a tar would list them: sorted by path,
// each directory before its content, parent directories added.
func layer(digest string, mtime time.Time, uname string, files []file) *auditor.Layer {
	seen := map[string]bool{}
	var all []file
	for _, f := range files {
		if seen[f.path] {
			continue
		}
		seen[f.path] = true
		all = append(all, f)
		for d := path.Dir(f.path); d != "/" && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			all = append(all, file{path: d, typ: auditor.TypeDir, mode: 0o755})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].path < all[j].path })
	l := &auditor.Layer{Digest: digest, DiffID: digestOf("diff", digest), MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Compression: "gzip"}
	l.Entries = make([]auditor.Entry, 0, len(all))
	var tarBytes int64
	for _, f := range all {
		e := auditor.Entry{Path: f.path, Type: f.typ, Mode: f.mode, UID: f.uid, GID: f.uid, Uname: uname, Gname: uname, ModTime: mtime, Kind: auditor.KindNone, Linkname: f.link}
		tarBytes += 512
		if f.typ == auditor.TypeFile || f.typ == auditor.TypeHardlink {
			e.SHA256 = content(f.key)
		}
		if f.typ == auditor.TypeFile {
			e.Size = f.size
			e.Kind = f.kind
			if f.size == 0 {
				e.Kind, e.SHA256 = auditor.KindEmpty, content("")
			}
			tarBytes += (f.size + 511) / 512 * 512
		}
		l.Entries = append(l.Entries, e)
	}
	l.UncompressedSize = tarBytes + 1024
	l.Size = l.UncompressedSize / 3
	return l
}
