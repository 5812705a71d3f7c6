package crawl

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/klauspost/compress/zstd"
)

// OpenLayer fetches one layer blob of registry/repository through the same
// client (auth, TLS, retries, plain-HTTP guard) a scan uses, and returns
// its bytes as stored (compressed). The stream checks size and digest as
// it goes: reading it to the end fails, wrapping an error that names the
// digest, if the registry served other bytes. A caller that stops early
// has verified nothing and must check what it used. OpenLayer does not use
// the crawler's sink. ctx governs the request and the reads.
func (c *Crawler) OpenLayer(ctx context.Context, registry, repository, digest string) (io.ReadCloser, error) {
	rc, err := c.client(registry)
	if err != nil {
		return nil, err
	}
	repo, err := rc.repository(repository)
	if err != nil {
		return nil, fmt.Errorf("repository %s/%s: %w", registry, repository, err)
	}
	ref, err := name.NewDigest(repo.String()+"@"+digest, rc.nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", digest, err)
	}
	l, err := rc.puller.Layer(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("layer %s in %s: %s", digest, repo, rc.redact(err))
	}
	r, err := l.Compressed() // go-containerregistry verifies size and digest as it streams
	if err != nil {
		return nil, fmt.Errorf("layer %s in %s: fetching blob: %s", digest, repo, rc.redact(err))
	}
	return verdictReader{r}, nil
}

// verdictReader marks go-containerregistry's verdict on a blob it verified
// (its internal verify.Error, returned at the blob's end in place of
// io.EOF) as ErrDigestMismatch, so that callers tell a blob that is not the
// one asked for from one cut short or badly encoded.
type verdictReader struct{ io.ReadCloser }

func (v verdictReader) Read(p []byte) (int, error) {
	n, err := v.ReadCloser.Read(p)
	if err != nil && err != io.EOF && isVerifyError(err) {
		err = fmt.Errorf("%w: %w", ErrDigestMismatch, err)
	}
	return n, err
}

// verifyErrorType is go-containerregistry's internal/verify.Error, known by
// name: the package is internal. TestBrokenBlob fails if it moves.
const verifyErrorPkg, verifyErrorName = "github.com/google/go-containerregistry/internal/verify", "Error"

func isVerifyError(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if t := reflect.TypeOf(err); t.PkgPath() == verifyErrorPkg && t.Name() == verifyErrorName {
			return true
		}
	}
	return false
}

// Decompress returns the tar stream of a layer blob, detecting gzip, zstd
// or none from its first bytes whatever the media type says, and the
// compression it found. Closing it releases the decoder, not r.
func Decompress(r io.Reader) (io.ReadCloser, string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	tr, comp, closeFn, err := decompress(br)
	if err != nil {
		return nil, "", err
	}
	return &readCloser{Reader: tr, close: closeFn}, comp, nil
}

type readCloser struct {
	io.Reader
	close func()
}

// Close releases the decoder.
func (r *readCloser) Close() error { r.close(); return nil }

// decompress detects the compression of the blob behind br and returns
// its uncompressed stream and a function releasing the decoder.
func decompress(br *bufio.Reader) (io.Reader, string, func(), error) {
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := newGunzip(br)
		if err != nil {
			return nil, "", nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, "gzip", func() { zr.Close() }, nil
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return nil, "", nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, "zstd", zr.Close, nil
	}
	return br, "none", func() {}, nil
}
