package crawl

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// tarFS is a read-only fs.FS over the regular files of a tar archive on
// disk (an OCI archive or a docker save tarball). The archive is indexed
// once; files are read in place through section readers, never extracted.
// Symlinks and hardlinks are followed inside the archive only.
type tarFS struct {
	f     *os.File
	name  string
	files map[string]tarFile
}

type tarFile struct {
	off, size int64
	typ       byte
	link      string
	mode      fs.FileMode
	mtime     time.Time
}

// maxArchiveEntries bounds the index of an outer archive.
const maxArchiveEntries = 1_000_000

// openTarFS indexes the tar archive at name. An entry whose name is
// absolute or climbs out of the archive (..) is an error: an archive that
// tries that is refused whole.
func openTarFS(name string) (*tarFS, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	t := &tarFS{f: f, name: name, files: map[string]tarFile{}}
	cr := &offsetReader{r: f}
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("archive %s: reading tar: %w", name, err)
		}
		if len(t.files) >= maxArchiveEntries {
			f.Close()
			return nil, fmt.Errorf("archive %s: more than %d entries", name, maxArchiveEntries)
		}
		clean := strings.TrimPrefix(path.Clean(strings.TrimPrefix(hdr.Name, "./")), "./")
		if hdr.Typeflag == tar.TypeDir && (clean == "." || clean == "") {
			continue
		}
		if !fs.ValidPath(clean) || strings.HasPrefix(hdr.Name, "/") {
			f.Close()
			return nil, fmt.Errorf("archive %s: entry %q escapes the archive (path traversal); refusing the archive", name, hdr.Name)
		}
		t.files[clean] = tarFile{off: cr.n, size: hdr.Size, typ: hdr.Typeflag, link: hdr.Linkname, mode: hdr.FileInfo().Mode(), mtime: hdr.ModTime}
	}
	return t, nil
}

// Close closes the archive file.
func (t *tarFS) Close() error { return t.f.Close() }

// Open opens a regular file of the archive, following links inside it.
func (t *tarFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	cur := name
	for range 16 {
		e, ok := t.files[cur]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		switch e.typ {
		case tar.TypeReg:
			return &tarFSFile{SectionReader: io.NewSectionReader(t.f, e.off, e.size), name: path.Base(cur), e: e}, nil
		case tar.TypeSymlink:
			if strings.HasPrefix(e.link, "/") {
				cur = path.Clean(strings.TrimPrefix(e.link, "/"))
			} else {
				cur = path.Join(path.Dir(cur), e.link)
			}
		case tar.TypeLink:
			cur = path.Clean(strings.TrimPrefix(e.link, "./"))
		default:
			return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("not a regular file in the archive")}
		}
		if !fs.ValidPath(cur) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("link escapes the archive")}
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("too many links")}
}

type tarFSFile struct {
	*io.SectionReader
	name string
	e    tarFile
}

func (f *tarFSFile) Stat() (fs.FileInfo, error) { return tarFileInfo{f.name, f.e}, nil }
func (f *tarFSFile) Close() error               { return nil }

type tarFileInfo struct {
	name string
	e    tarFile
}

func (i tarFileInfo) Name() string       { return i.name }
func (i tarFileInfo) Size() int64        { return i.e.size }
func (i tarFileInfo) Mode() fs.FileMode  { return i.e.mode }
func (i tarFileInfo) ModTime() time.Time { return i.e.mtime }
func (i tarFileInfo) IsDir() bool        { return false }
func (i tarFileInfo) Sys() any           { return nil }

// offsetReader tracks the offset in the archive. archive/tar reads headers
// block by block and skips file data with Seek, so after Next the offset is
// that of the entry's data, and indexing reads only the headers.
type offsetReader struct {
	r io.ReadSeeker
	n int64
}

func (o *offsetReader) Seek(off int64, whence int) (int64, error) {
	pos, err := o.r.Seek(off, whence)
	if err == nil {
		o.n = pos
	}
	return pos, err
}

func (o *offsetReader) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	o.n += int64(n)
	return n, err
}
