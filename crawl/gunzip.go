package crawl

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/flate"
)

// A gzip reader of our own around klauspost's deflate: compress/gzip and
// klauspost's gzip refuse a header whose file name or comment is over 511
// bytes ("invalid header"), which gzip itself, and every runtime that
// pulls the layer, accept. This one skips the header fields as RFC 1952
// lays them out, however long, and keeps what the others do: members one
// after the other (pigz, concatenated layers), CRC-32 and ISIZE checked at
// the end of each, the header CRC checked when FHCRC is set.

// Errors of the gzip stream.
var (
	errGzipHeader   = errors.New("invalid header")
	errGzipChecksum = errors.New("checksum error: content does not match the member's CRC-32 or size")
)

// Header flags (RFC 1952, 2.3.1).
const (
	gzipFHCRC    = 1 << 1
	gzipFEXTRA   = 1 << 2
	gzipFNAME    = 1 << 3
	gzipFCOMMENT = 1 << 4
	gzipReserved = 0xe0
)

// gunzip decompresses a gzip stream of one or more members read from r.
// r is a bufio.Reader so that deflate, which reads byte by byte through
// io.ByteReader, never reads past the end of a member.
type gunzip struct {
	r    *bufio.Reader
	fr   io.ReadCloser // deflate reader of the current member
	crc  uint32        // of the member's content so far
	size uint32        // the member's content size so far, mod 2^32
	err  error         // sticky
}

// newGunzip reads the first member's header.
func newGunzip(r *bufio.Reader) (*gunzip, error) {
	z := &gunzip{r: r}
	if err := z.header(); err != nil {
		return nil, noEOF(err)
	}
	return z, nil
}

// header reads a member header and readies deflate after it. It returns
// io.EOF, and only then, when r is at its end before the first byte.
func (z *gunzip) header() error {
	var b [10]byte
	if n, err := io.ReadFull(z.r, b[:]); err != nil {
		if n == 0 && err == io.EOF {
			return io.EOF
		}
		return noEOF(err)
	}
	if b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 { // magic, deflate
		return errGzipHeader
	}
	flags := b[3]
	if flags&gzipReserved != 0 {
		return errGzipHeader
	}
	hcrc := crc32.ChecksumIEEE(b[:])
	if flags&gzipFEXTRA != 0 {
		if _, err := io.ReadFull(z.r, b[:2]); err != nil {
			return noEOF(err)
		}
		hcrc = crc32.Update(hcrc, crc32.IEEETable, b[:2])
		var err error
		if hcrc, err = z.skip(int(binary.LittleEndian.Uint16(b[:2])), hcrc); err != nil {
			return err
		}
	}
	for _, f := range []byte{gzipFNAME, gzipFCOMMENT} {
		if flags&f == 0 {
			continue
		}
		var err error
		if hcrc, err = z.skipString(hcrc); err != nil {
			return err
		}
	}
	if flags&gzipFHCRC != 0 {
		if _, err := io.ReadFull(z.r, b[:2]); err != nil {
			return noEOF(err)
		}
		if binary.LittleEndian.Uint16(b[:2]) != uint16(hcrc) {
			return errGzipHeader
		}
	}
	z.crc, z.size = 0, 0
	if z.fr == nil {
		z.fr = flate.NewReader(z.r)
	} else if err := z.fr.(flate.Resetter).Reset(z.r, nil); err != nil {
		return err
	}
	return nil
}

// skip discards n bytes of the header, adding them to its CRC.
func (z *gunzip) skip(n int, hcrc uint32) (uint32, error) {
	for n > 0 {
		b, err := z.r.Peek(min(n, z.r.Size()))
		if len(b) == 0 {
			return hcrc, noEOF(err)
		}
		hcrc = crc32.Update(hcrc, crc32.IEEETable, b)
		z.r.Discard(len(b))
		n -= len(b)
	}
	return hcrc, nil
}

// skipString discards a NUL-terminated header string of any length,
// adding it to the header's CRC.
func (z *gunzip) skipString(hcrc uint32) (uint32, error) {
	for {
		b, err := z.r.ReadSlice(0)
		hcrc = crc32.Update(hcrc, crc32.IEEETable, b)
		switch {
		case err == nil:
			return hcrc, nil
		case err != bufio.ErrBufferFull:
			return hcrc, noEOF(err)
		}
	}
}

// Read decompresses, checking each member's trailer at its end.
func (z *gunzip) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	for {
		n, err := z.fr.Read(p)
		z.crc = crc32.Update(z.crc, crc32.IEEETable, p[:n])
		z.size += uint32(n)
		if err != io.EOF {
			if err != nil {
				z.err = noEOF(err)
			}
			return n, z.err
		}
		var t [8]byte
		if _, err := io.ReadFull(z.r, t[:]); err != nil {
			z.err = noEOF(err)
			return n, z.err
		}
		if binary.LittleEndian.Uint32(t[:4]) != z.crc || binary.LittleEndian.Uint32(t[4:]) != z.size {
			z.err = errGzipChecksum
			return n, z.err
		}
		// Another member, or the end.
		if z.err = z.header(); z.err != nil || n > 0 {
			return n, z.err
		}
	}
}

// Close releases the deflate reader.
func (z *gunzip) Close() error {
	if z.fr != nil {
		return z.fr.Close()
	}
	return nil
}

// noEOF turns an end of stream inside a structure into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
