package queries

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"
)

// FileRef says where the bytes of one file of an image are: which layer
// blob, and which tar entry of it.
type FileRef struct {
	Path        string // the path asked for, after following symlinks
	Layer       int64
	LayerDigest string
	Seq         int64  // the entry's place in the layer tar
	DataSeq     int64  // the entry holding the bytes (a hardlink's target)
	DataPath    string // its path
	Type        string // file or hardlink
	Size        int64
	SHA256      string
	Kind        string // elf, script, other, empty
}

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinks = 40

// Locate finds the file at p in im: its visible version, following
// symlinks inside the image (never outside it: ".." stops at the image's
// root, absolute targets start there), or with layer >= 0 the entry at
// exactly p in that layer, hidden or not. Errors wrap ErrNotInImage, or
// say the path is not a regular file.
func Locate(ctx context.Context, db Querier, im *Image, p string, layer int) (*FileRef, error) {
	p = CleanPath(p)
	if layer >= 0 {
		e, err := entryAt(ctx, db, im, p, layer)
		if err != nil {
			return nil, err
		}
		if e == nil {
			return nil, fmt.Errorf("%w: %s has no entry at %s in layer %d", ErrNotInImage, im.Name(), p, layer)
		}
		return fileRef(ctx, db, im, p, e)
	}
	resolved, e, err := resolvePath(ctx, db, im, p)
	if err != nil {
		return nil, err
	}
	return fileRef(ctx, db, im, resolved, e)
}

type atEntry struct {
	layer       int64
	layerDigest string
	seq         int64
	typ         string
	size        int64
	sha256      sql.Null[string]
	link        sql.Null[string]
	kind        string
	visible     bool
	tarPath     string // its path in the layer tar
}

func entryAt(ctx context.Context, db Querier, im *Image, p string, layer int) (*atEntry, error) {
	var e atEntry
	err := QueryRow(ctx, db, query("file_at"), im.Digest, im.Registry, im.Repository, p, layer).
		Scan(&e.layer, &e.layerDigest, &e.seq, &e.typ, &e.size, &e.sha256, &e.link, &e.kind, &e.visible, &e.tarPath)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", p, im.Name(), err)
	}
	return &e, nil
}

// resolvePath follows symlinks in the image's final filesystem, component
// by component, and returns the resolved path and its entry.
func resolvePath(ctx context.Context, db Querier, im *Image, p string) (string, *atEntry, error) {
	todo := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	hops := 0
	for len(todo) > 0 {
		part := todo[0]
		todo = todo[1:]
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		e, err := entryAt(ctx, db, im, next, -1)
		if err != nil {
			return "", nil, err
		}
		if e == nil && len(todo) > 0 {
			// A directory no layer has an entry for, implied by what
			// lies beneath it.
			var implied bool
			if err := QueryRow(ctx, db, query("dir_implied"), im.Digest, im.Registry, im.Repository, next).Scan(&implied); err != nil {
				return "", nil, fmt.Errorf("%s in %s: %w", p, im.Name(), err)
			}
			if implied {
				cur = next
				continue
			}
		}
		if e == nil {
			if next == p {
				return "", nil, fmt.Errorf("%w: %s has no %s", ErrNotInImage, im.Name(), p)
			}
			return "", nil, fmt.Errorf("%w: %s has no %s (resolving %s)", ErrNotInImage, im.Name(), next, p)
		}
		if e.typ == "symlink" {
			if hops++; hops > maxSymlinks {
				return "", nil, fmt.Errorf("%s in %s: too many levels of symbolic links", p, im.Name())
			}
			target := e.link.V
			if strings.HasPrefix(target, "/") {
				cur = "/"
			}
			todo = append(strings.Split(target, "/"), todo...)
			continue
		}
		if len(todo) > 0 && e.typ != "dir" {
			return "", nil, fmt.Errorf("%w: %s: %s is a %s, not a directory", ErrNotInImage, im.Name(), next, e.typ)
		}
		cur = next
		if len(todo) == 0 {
			return cur, e, nil
		}
	}
	e, err := entryAt(ctx, db, im, cur, -1)
	if err != nil {
		return "", nil, err
	}
	if e == nil {
		return "", nil, fmt.Errorf("%s in %s is a directory", p, im.Name())
	}
	return cur, e, nil
}

func fileRef(ctx context.Context, db Querier, im *Image, p string, e *atEntry) (*FileRef, error) {
	switch e.typ {
	case "file", "hardlink":
	case "dir":
		return nil, fmt.Errorf("%s in %s is a directory (list it with auditor ls)", p, im.Name())
	default:
		return nil, fmt.Errorf("%s in %s is a %s: it has no content to show", p, im.Name(), e.typ)
	}
	f := &FileRef{Path: p, Layer: e.layer, LayerDigest: e.layerDigest, Seq: e.seq, DataSeq: e.seq, DataPath: e.tarPath,
		Type: e.typ, Size: e.size, SHA256: e.sha256.V, Kind: e.kind}
	if e.typ == "hardlink" {
		target := CleanPath(e.link.V)
		var sha sql.Null[string]
		err := QueryRow(ctx, db, query("hardlink_target"), e.layerDigest, target, e.seq).Scan(&f.DataSeq, &f.Size, &sha)
		if errors.Is(err, sql.ErrNoRows) && f.SHA256 != "" {
			// It links a file of another layer (the index knows its
			// content): read it from there.
			err = QueryRow(ctx, db, query("content_entry"), im.Digest, im.Registry, im.Repository, f.SHA256).
				Scan(&f.Layer, &f.LayerDigest, &f.DataSeq, &target, &f.Size)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%s in %s: hardlink to %s, which layer %s does not hold before it", p, im.Name(), target, e.layerDigest)
		}
		if err != nil {
			return nil, fmt.Errorf("%s in %s: %w", p, im.Name(), err)
		}
		f.DataPath = target
		if f.SHA256 == "" {
			f.SHA256 = sha.V
		}
	}
	if f.SHA256 == "" {
		return nil, fmt.Errorf("%s in %s: the index has no content hash for it", p, im.Name())
	}
	return f, nil
}

// ErrContentMismatch wraps errors for layer content that is not what the
// index recorded.
var ErrContentMismatch = errors.New("content does not match the index")

// TarFile finds the entry f.DataSeq of an uncompressed layer tar and
// returns a reader of its bytes. Reading it to the end checks the bytes
// against f.Size and f.SHA256: the last Read returns an error wrapping
// ErrContentMismatch instead of io.EOF if they differ.
func TarFile(tarStream io.Reader, f *FileRef) (io.Reader, error) {
	tr := tar.NewReader(tarStream)
	for i := int64(0); ; i++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: layer %s ends after %d entries, before entry %d (%s)", ErrContentMismatch, f.LayerDigest, i, f.DataSeq, f.DataPath)
		}
		if err != nil {
			return nil, fmt.Errorf("layer %s: reading tar: %w", f.LayerDigest, err)
		}
		if i < f.DataSeq {
			continue
		}
		if got := CleanPath(hdr.Name); got != f.DataPath {
			return nil, fmt.Errorf("%w: entry %d of layer %s is %q, not %s", ErrContentMismatch, i, f.LayerDigest, hdr.Name, f.DataPath)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: entry %d of layer %s (%s) is not a regular file", ErrContentMismatch, i, f.LayerDigest, f.DataPath)
		}
		if hdr.Size != f.Size {
			return nil, fmt.Errorf("%w: %s in layer %s is %d bytes, the index says %d", ErrContentMismatch, f.DataPath, f.LayerDigest, hdr.Size, f.Size)
		}
		return &verifier{r: tr, h: sha256.New(), f: f}, nil
	}
}

// verifier hashes what it reads and checks it at the end.
type verifier struct {
	r interface{ Read([]byte) (int, error) }
	h interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	n int64
	f *FileRef
}

// Read reads on, and at the end checks size and hash.
func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		if v.n != v.f.Size {
			return n, fmt.Errorf("%w: %s in layer %s: read %d bytes, want %d", ErrContentMismatch, v.f.DataPath, v.f.LayerDigest, v.n, v.f.Size)
		}
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.f.SHA256 {
			return n, fmt.Errorf("%w: %s in layer %s hashes to sha256:%s, the index says sha256:%s", ErrContentMismatch, v.f.DataPath, v.f.LayerDigest, got, v.f.SHA256)
		}
	}
	return n, err
}

// LooksBinary reports whether the start of a file would put garbage on a
// terminal: NUL bytes, invalid UTF-8, or control characters other than
// tab, newline, carriage return, form feed and backspace (escape sequences
// included).
func LooksBinary(head []byte, complete bool) bool {
	for i := 0; i < len(head); {
		c := head[i]
		if c < 0x20 || c == 0x7f {
			switch c {
			case '\t', '\n', '\r', '\f', '\b':
			default:
				return true
			}
			i++
			continue
		}
		if c < 0x80 {
			i++
			continue
		}
		if !utf8.FullRune(head[i:]) {
			return complete // a character cut by the end of head is fine
		}
		r, n := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && n <= 1 {
			return true
		}
		i += n
	}
	return false
}
