package crawl

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
	"sync"

	"github.com/klauspost/readahead"

	"github.com/auditor-dev/auditor"
)

// Limits bound what one layer may cost. Zero fields take the defaults.
type Limits struct {
	MaxEntries          int64 // tar entries per layer
	MaxUncompressedSize int64 // bytes of tar per layer
	MaxManifestSize     int64 // bytes of one manifest or index (see manifest.go)
	MaxIndexDepth       int   // indexes nested in indexes (see manifest.go)
	MaxListPages        int   // pages of one catalog or tag list (see manifest.go)
	MaxConfigSize       int64 // bytes of one image config (see config.go)
	MaxTagManifests     int   // manifests one tag reaches through its indexes (see walk.go)
}

// Default limits: far above any real layer, low enough that a tar or gzip
// bomb ends with an error instead of exhausting the machine.
const (
	DefaultMaxEntries          = 5_000_000
	DefaultMaxUncompressedSize = 64 << 30
)

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxUncompressedSize <= 0 {
		l.MaxUncompressedSize = DefaultMaxUncompressedSize
	}
	return l
}

// ErrLimit is wrapped by errors for a layer that exceeds Limits.
var ErrLimit = errors.New("layer exceeds limit")

// ErrDigestMismatch is wrapped by errors for content whose digest is not the
// one expected.
var ErrDigestMismatch = errors.New("digest mismatch")

const (
	zstdMaxWindow = 128 << 20 // largest zstd window accepted (zstd --long=27)
	// Decompressed data is handed from the decompressing goroutine to the
	// tar reader and hashers in buffers of this size, this many ahead.
	readAheadSize    = 256 << 10
	readAheadBuffers = 4
	copyBufSize      = 256 << 10
	sniffSize        = 4
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// LayerInput is a layer blob to read.
type LayerInput struct {
	Digest    string // expected digest of the blob, "sha256:<hex>"
	MediaType string
	DiffID    string // diff_id from the image config; "" if unknown
	// Verify makes ReadLayer hash the blob and check it against Digest. Set it
	// when the source does not already verify what it serves.
	Verify bool
	// CheckDiffID makes ReadLayer hash the uncompressed tar and check it
	// against DiffID: for sources whose layers are known by their diff_id.
	// Otherwise, with the blob's digest verified, DiffID is recorded as the
	// config gives it, which saves hashing every byte twice. An unknown
	// DiffID is always computed.
	CheckDiffID bool
	// Scanners read the layer as it streams (see LayerScanner); the
	// layer's Scans say which did, and how it went.
	Scanners []LayerScanner
}

// EntrySink receives a layer's entries as StreamLayer reads them. Every
// LayerWriter is one.
type EntrySink interface {
	// Add takes the next entry, in tar order. Hardlinks come without
	// SHA256: the sink gives them that of the last regular file before
	// them in the layer at their Linkname (cleaned as paths are).
	Add(ctx context.Context, e auditor.Entry) error
	// ScanSink takes what the scanners find (AddMatch: a content match
	// in an entry already added).
	ScanSink
}

// ReadLayer reads a layer blob like StreamLayer and returns it whole: every
// tar entry, in tar order, with its content hash (hardlinks to regular files
// of the layer with their target's), and its content matches. Its memory
// grows with the number of entries: the crawler streams instead.
func ReadLayer(ctx context.Context, r io.Reader, in LayerInput, lim Limits) (*auditor.Layer, error) {
	var c collector
	l, err := StreamLayer(ctx, r, in, lim, &c)
	if err != nil {
		return nil, err
	}
	l.Entries, l.ContentMatches, l.ContentDropped, l.Configs = c.entries, c.matches, c.dropped, c.configs
	l.Captures, l.Digests = c.captures, c.digests
	return l, nil
}

// collector is the EntrySink of ReadLayer.
type collector struct {
	entries  []auditor.Entry
	matches  []auditor.ContentMatch
	dropped  []auditor.ContentDrop
	configs  []auditor.ConfigFile
	captures []auditor.Capture
	digests  []auditor.ContentDigests
	files    map[string]string // path -> sha256 of the last regular file there
}

func (c *collector) Add(_ context.Context, e auditor.Entry) error {
	if c.files == nil {
		c.files = map[string]string{}
	}
	switch e.Type {
	case auditor.TypeFile:
		c.files[e.Path] = e.SHA256
	case auditor.TypeHardlink:
		if e.SHA256 == "" {
			e.SHA256 = c.files[cleanPath(e.Linkname)]
		}
	}
	c.entries = append(c.entries, e)
	return nil
}

func (c *collector) AddMatch(m auditor.ContentMatch) { c.matches = append(c.matches, m) }

func (c *collector) AddDropped(d auditor.ContentDrop) { c.dropped = append(c.dropped, d) }
func (c *collector) AddConfig(f auditor.ConfigFile)   { c.configs = append(c.configs, f) }

func (c *collector) AddCapture(seq int, data []byte) {
	c.captures = append(c.captures, auditor.Capture{Seq: seq, Data: bytes.Clone(data)})
}

func (c *collector) AddDigests(d auditor.ContentDigests) { c.digests = append(c.digests, d) }

// StreamLayer streams a layer blob (gzip, zstd or plain tar, detected from
// its first bytes, whatever the media type says), hands every tar entry with
// its content hash to out as it goes, and returns what it learnt of the blob
// (the returned Layer has no Entries, ContentMatches, ContentDropped,
// Captures nor Digests: out got them). Its
// memory does not depend on the number of entries. It writes nothing but to
// out: the blob is data, read once. Decompression runs on its own goroutine,
// ahead of tar parsing and hashing, so one large layer keeps two cores busy.
// After it returns nil, the blob was read to its end, and checked against
// in.Digest when in.Verify asks, and the diff_id too when in.CheckDiffID
// asks; after an error, out may have had some of the entries. When the
// blob cannot be decoded, it is still read to its end: a blob that is not
// in.Digest's fails with ErrDigestMismatch (wrapping the decoder's error
// too), whatever its bytes made the decoder say.
func StreamLayer(ctx context.Context, r io.Reader, in LayerInput, lim Limits, out EntrySink) (*auditor.Layer, error) {
	lim = lim.withDefaults()
	cr := &countReader{r: r, ctx: ctx}
	var blobHash hash.Hash
	var src io.Reader = cr
	if in.Verify {
		blobHash = sha256.New()
		src = io.TeeReader(cr, blobHash)
	}
	br := bufio.NewReaderSize(src, 64<<10)
	blobDigest := func() string { return "sha256:" + hex.EncodeToString(blobHash.Sum(nil)) }
	layer, err := decodeLayer(ctx, br, in, lim, out)
	if err != nil {
		// The sink's error, a cap's or a cancelled scan's: nothing to check.
		if se := (*sinkError)(nil); errors.As(err, &se) {
			return nil, se.err
		}
		if errors.Is(err, ErrLimit) || ctx.Err() != nil {
			return nil, err
		}
		// The decoder gave up: read the rest, so the blob is checked whole.
		_, derr := io.Copy(io.Discard, br)
		switch {
		case derr == nil && blobHash != nil && blobDigest() != in.Digest:
			return nil, fmt.Errorf("%w: blob hashes to %s (and decoding it failed: %w)", ErrDigestMismatch, blobDigest(), err)
		case errors.Is(derr, ErrDigestMismatch): // the source's own check
			return nil, fmt.Errorf("%w (and decoding it failed: %w)", derr, err)
		}
		return nil, err
	}
	// Read the blob to its end so its digest can be checked.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, err
	}
	layer.Size = cr.n
	if blobHash != nil {
		if got := blobDigest(); got != in.Digest {
			return nil, fmt.Errorf("%w: blob hashes to %s", ErrDigestMismatch, got)
		}
	}
	if in.CheckDiffID && in.DiffID != "" && in.DiffID != layer.DiffID {
		return nil, fmt.Errorf("%w: uncompressed content hashes to %s, the image config says diff_id %s", ErrDigestMismatch, layer.DiffID, in.DiffID)
	}
	return layer, nil
}

// decodeLayer decompresses the blob behind br and reads its tar into out,
// to the tar's end and what follows it. When it returns, the decoder and
// its goroutine are done with br. An error of out comes as a *sinkError.
func decodeLayer(ctx context.Context, br *bufio.Reader, in LayerInput, lim Limits, out EntrySink) (*auditor.Layer, error) {
	layer := &auditor.Layer{Digest: in.Digest, MediaType: in.MediaType}
	tarStream, compression, closeDecoder, err := decompress(br)
	if err != nil {
		return nil, err
	}
	defer closeDecoder()
	layer.Compression = compression
	if compression != "none" {
		ra, err := readahead.NewReaderSize(tarStream, readAheadBuffers, readAheadSize)
		if err != nil {
			return nil, err
		}
		defer ra.Close()
		tarStream = ra
	}

	ur := &limitReader{r: tarStream, max: lim.MaxUncompressedSize}
	var tarBytes io.Reader = ur
	var diffHash hash.Hash
	if in.CheckDiffID || in.DiffID == "" {
		diffHash = sha256.New()
		tarBytes = io.TeeReader(ur, diffHash)
	}
	tr := tar.NewReader(tarBytes)
	if err := readEntries(ctx, tr, layer, lim, in.Scanners, out); err != nil {
		return nil, err
	}
	// Read what follows the tar end (padding) so the diff_id covers every
	// byte.
	if _, err := io.Copy(io.Discard, tarBytes); err != nil {
		return nil, decompressErr(layer.Compression, err)
	}
	layer.UncompressedSize = ur.n
	layer.DiffID = in.DiffID
	if diffHash != nil {
		layer.DiffID = "sha256:" + hex.EncodeToString(diffHash.Sum(nil))
	}
	return layer, nil
}

// sinkError is an error of the EntrySink, told apart from the blob's.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

func decompressErr(compression string, err error) error {
	if compression == "none" || errors.Is(err, ErrLimit) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%s: %w", compression, err)
}

func readEntries(ctx context.Context, tr *tar.Reader, layer *auditor.Layer, lim Limits, scanners []LayerScanner, out EntrySink) error {
	bufp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bufp)
	buf := *bufp
	h := sha256.New()
	md, sh := md5.New(), sha1.New() // for the scans that want them
	all := io.MultiWriter(h, md, sh)
	var cbuf []byte // whole files for the scans
	var hbuf []byte // the first bytes of a file for the scans that want them
	scans := startScans(scanners, out)
	var n int64       // entries so far
	var logical int64 // bytes of regular files so far, sparse holes included
	content := &ctxReader{ctx: ctx, r: tr}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			layer.Scans = scans.finish()
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading tar after %d entries: %w", n, decompressErr(layer.Compression, err))
		}
		if n >= lim.MaxEntries {
			return fmt.Errorf("%w: more than %d tar entries", ErrLimit, lim.MaxEntries)
		}
		if err := checkNames(hdr); err != nil {
			return fmt.Errorf("%w: tar entry %d %w", ErrLimit, n, err)
		}
		e := entryFromHeader(hdr)
		var whole []byte // the file's content, when scans want it
		var digests bool // scans want its md5 and sha1
		wanted := false  // scans want its content (whole: empty files too)
		headed := false  // scans want its first bytes
		if e.Type == auditor.TypeFile {
			// A sparse file's holes cost no blob bytes but read as zeros:
			// its declared (logical) size counts, so a few hundred bytes
			// of blob cannot claim a petabyte of hashing.
			if hdr.Size > lim.MaxUncompressedSize-logical {
				return fmt.Errorf("%w: %.256q declares %d bytes (the holes of a sparse file count), over the %d bytes left of the layer's %d", ErrLimit, hdr.Name, hdr.Size, lim.MaxUncompressedSize-logical, lim.MaxUncompressedSize)
			}
			logical += hdr.Size
			h.Reset()
			var w io.Writer = h
			digests = scans.wantsDigests(e.Path, hdr.Size)
			// A file small enough is read whole and its sha256 taken
			// first, so the md5 and sha1 of a content the scans know
			// already (another layer had it) are not computed again: md5
			// costs about three times sha256.
			later := digests && hdr.Size <= maxDigestBuffer
			if digests && !later {
				md.Reset()
				sh.Reset()
				w = all
			}
			var sum string
			var kind auditor.ContentKind
			hn := 0 // the first bytes scans want of a file none wants whole
			if wanted = scans.wants(e.Path, hdr.Size); !wanted {
				hn = scans.wantsHead(e.Path, hdr.Size)
			}
			headed = hn > 0
			if wanted || later {
				// read whole for the digests alone: its head is there too
				whole, sum, kind, err = readWhole(content, w, h, &cbuf, hdr.Size)
				if err == nil && headed {
					hbuf = append(hbuf[:0], whole[:min(len(whole), hn)]...)
				}
			} else {
				sum, kind, err = hashContent(content, w, h, buf, hdr.Size, &hbuf, hn)
			}
			if err != nil {
				return fmt.Errorf("reading %q: %w", hdr.Name, decompressErr(layer.Compression, err))
			}
			e.SHA256, e.Kind = sum, kind
			if later {
				if digests = scans.needDigests(sum); digests {
					md.Reset()
					sh.Reset()
					md.Write(whole)
					sh.Write(whole)
				}
			}
		}
		if err := out.Add(ctx, e); err != nil {
			return &sinkError{err}
		}
		if digests {
			scans.digests(int(n), e.Path, auditor.ContentDigests{SHA256: e.SHA256, MD5: hex.EncodeToString(md.Sum(nil)), SHA1: hex.EncodeToString(sh.Sum(nil))})
		}
		if headed {
			scans.giveHead(int(n), e.Path, hbuf)
		}
		if wanted {
			scans.file(int(n), e.Path, whole)
			if cap(cbuf) > maxKeptBuffer {
				cbuf = nil // a rare large file: not held for the rest of the layer
			}
		}
		n++
		if n%4096 == 0 && ctx.Err() != nil {
			return context.Cause(ctx)
		}
	}
}

// maxKeptBuffer is the largest buffer of whole files kept from one file to
// the next of a layer.
const maxKeptBuffer = 4 << 20

// maxDigestBuffer is the largest file whose md5 and sha1 wait for its sha256
// (read whole), to be skipped for a content the scans have them of; a
// larger one gets them as it streams.
const maxDigestBuffer = 4 << 20

// readWhole reads a whole regular file into *buf (grown as needed), and
// hashes and classifies it like hashContent.
func readWhole(r io.Reader, w io.Writer, h hash.Hash, buf *[]byte, size int64) ([]byte, string, auditor.ContentKind, error) {
	if int64(cap(*buf)) < size {
		*buf = make([]byte, size)
	}
	b := (*buf)[:size]
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, "", 0, err
	}
	w.Write(b)
	return b, hex.EncodeToString(h.Sum(nil)), sniff(b[:min(len(b), sniffSize)]), nil
}

// MaxNameBytes bounds a tar entry's name, link target, user and group
// names: PATH_MAX, past which no runtime can extract the entry. A PAX
// header may hold names of up to a megabyte, which would weigh on every
// cache and on the index.
const MaxNameBytes = 4096

// checkNames refuses a header with a name longer than MaxNameBytes.
func checkNames(hdr *tar.Header) error {
	for _, f := range []struct{ what, s string }{
		{"name", hdr.Name}, {"link target", hdr.Linkname}, {"user name", hdr.Uname}, {"group name", hdr.Gname},
	} {
		if len(f.s) > MaxNameBytes {
			return fmt.Errorf("%.256q...: its %s is %d bytes, over %d", hdr.Name, f.what, len(f.s), MaxNameBytes)
		}
	}
	return nil
}

// hashContent writes one file's content to w (its sha256 h, and more
// hashes when scans want them), returns h's sum and classifies its first
// bytes; with headN > 0 it copies the first headN bytes (at most len(buf))
// into *head.
func hashContent(r io.Reader, w io.Writer, h hash.Hash, buf []byte, size int64, head *[]byte, headN int) (string, auditor.ContentKind, error) {
	kind := auditor.KindEmpty
	*head = (*head)[:0]
	if size > 0 {
		n, err := io.ReadAtLeast(r, buf, int(min(size, int64(min(len(buf), max(sniffSize, headN))))))
		if err != nil {
			return "", 0, err
		}
		kind = sniff(buf[:n])
		if headN > 0 {
			*head = append(*head, buf[:min(n, headN)]...)
		}
		w.Write(buf[:n])
		if _, err := io.CopyBuffer(w, r, buf); err != nil {
			return "", 0, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), kind, nil
}

func sniff(b []byte) auditor.ContentKind {
	switch {
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return auditor.KindELF
	case bytes.HasPrefix(b, []byte("#!")):
		return auditor.KindScript
	case len(b) == 0:
		return auditor.KindEmpty
	}
	return auditor.KindOther
}

// cleanPath makes a tar name absolute and clean: "./usr/bin/" and
// "../../usr/bin" both become "/usr/bin". The raw name is kept elsewhere.
func cleanPath(name string) string {
	return path.Clean("/" + name)
}

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueMarker   = ".wh..wh..opq"
)

func entryFromHeader(hdr *tar.Header) auditor.Entry {
	p := cleanPath(hdr.Name)
	e := auditor.Entry{
		Path:    p,
		Mode:    hdr.Mode & 07777,
		UID:     int64(hdr.Uid),
		GID:     int64(hdr.Gid),
		Uname:   hdr.Uname,
		Gname:   hdr.Gname,
		ModTime: hdr.ModTime,
		Kind:    auditor.KindNone,
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeCont, tar.TypeGNUSparse: // archive/tar reports old-style regular files as TypeReg
		e.Type, e.Size = auditor.TypeFile, hdr.Size
	case tar.TypeLink:
		e.Type, e.Linkname = auditor.TypeHardlink, hdr.Linkname
	case tar.TypeSymlink:
		e.Type, e.Linkname = auditor.TypeSymlink, hdr.Linkname
	case tar.TypeChar:
		e.Type, e.Linkname = auditor.TypeChar, fmt.Sprintf("%d:%d", hdr.Devmajor, hdr.Devminor)
	case tar.TypeBlock:
		e.Type, e.Linkname = auditor.TypeBlock, fmt.Sprintf("%d:%d", hdr.Devmajor, hdr.Devminor)
	case tar.TypeDir:
		e.Type = auditor.TypeDir
	case tar.TypeFifo:
		e.Type = auditor.TypeFIFO
	default:
		e.Type, e.Size = auditor.TypeOther, hdr.Size
	}
	base, dir := path.Base(p), path.Dir(p)
	switch {
	case base == opaqueMarker:
		e.Type, e.Path, e.Size = auditor.TypeOpaque, dir, 0
	case strings.HasPrefix(base, whiteoutMeta):
		// Another AUFS meta file: not a whiteout; kept as the entry it is.
	case strings.HasPrefix(base, whiteoutPrefix) && !badWhiteout(base[len(whiteoutPrefix):]):
		e.Type, e.Path, e.Size = auditor.TypeWhiteout, path.Join(dir, base[len(whiteoutPrefix):]), 0
	}
	if hdr.Name != strings.TrimPrefix(e.Path, "/") && hdr.Name != strings.TrimPrefix(e.Path, "/")+"/" {
		e.RawName = hdr.Name
	}
	if caps, ok := hdr.PAXRecords["SCHILY.xattr.security.capability"]; ok {
		e.Capabilities = decodeCapabilities([]byte(caps))
	}
	return e
}

// countReader counts bytes and stops when ctx is done.
type countReader struct {
	r   io.Reader
	n   int64
	ctx context.Context
}

func (c *countReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops when ctx is done. It guards the reads of file content,
// which a sparse file serves from no blob bytes at all.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// limitReader fails with ErrLimit once more than max bytes were read.
type limitReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, fmt.Errorf("%w: more than %d uncompressed bytes", ErrLimit, l.max)
	}
	return n, err
}
