package crawl

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/klauspost/compress/gzip"
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
	return r, nil
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
		zr, err := gzip.NewReader(br)
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
