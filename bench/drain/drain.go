// Package drain is the work a layer blob costs at the very least: decompress
// it (gzip or zstd, detected from its first bytes, with the decompressors
// crawl uses), walk the tar, sha256-hash every regular file's content, and
// read to the end. bench/limit runs it over a whole registry and crawl's
// BenchmarkReadLayerLimit over the blobs BenchmarkReadLayer reads, so both
// compare auditor with the same floor.
package drain

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// zstdMaxWindow matches crawl's limit, so both accept the same blobs.
const zstdMaxWindow = 128 << 20

// Counts are what Blob read.
type Counts struct {
	Uncompressed int64 // tar bytes, to the end of the decompressed stream
	Entries      int64 // tar entries
	Files        int64 // regular files hashed
}

// Blob drains one layer blob. buf is scratch space (256 KiB is plenty).
func Blob(r io.Reader, buf []byte) (Counts, error) {
	var c Counts
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	var tarStream io.Reader = br
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return c, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		tarStream = zr
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return c, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		tarStream = zr
	}
	ur := &Counter{R: tarStream}
	tr := tar.NewReader(ur)
	h := sha256.New()
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return c, fmt.Errorf("tar after %d entries: %w", c.Entries, err)
		}
		c.Entries++
		if hdr.Typeflag == tar.TypeReg { // Reader reports legacy TypeRegA entries as TypeReg
			h.Reset()
			if _, err := io.CopyBuffer(h, tr, buf); err != nil {
				return c, fmt.Errorf("%s: %w", hdr.Name, err)
			}
			h.Sum(buf[:0])
			c.Files++
		}
	}
	if _, err := io.CopyBuffer(io.Discard, ur, buf); err != nil {
		return c, err
	}
	c.Uncompressed = ur.N
	return c, nil
}

// Counter counts the bytes read through it.
type Counter struct {
	R io.Reader
	N int64
}

func (c *Counter) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}
