package pkgdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

var errShort = errors.New("truncated")

// NDB layout (rpm lib/backend/ndb/rpmpkg.c): a 32-byte header ("RpmP",
// version, generation, slot page count), slot pages of 4096 bytes holding
// 16-byte slots ("Slot", package index, block offset, block count; the
// first two slots are the header), and blobs at block offset * 16: a
// 16-byte header ("BlbS", package index, checksum, length) and the rpm
// header.
const (
	ndbSlotPageSize = 4096
	ndbSlotSize     = 16
	ndbMaxSlotPages = 2048 // go-rpmdb's own bound
)

// ndbBlobs walks every slot and blob header of an NDB file and returns the
// headers in slot order (go-rpmdb's), refusing what
// go-rpmdb would mishandle: a bad slot magic (it prints to stdout), a blob
// whose magic or package index is wrong (it goes on after reporting it,
// and its caller stops reading), or a blob that does not fit in the file
// (it allocates the length the file claims).
func ndbBlobs(data []byte) ([][]byte, error) {
	le := binary.LittleEndian
	if len(data) < 32 {
		return nil, errShort
	}
	if v := le.Uint32(data[4:]); v != 0 {
		return nil, fmt.Errorf("version %d", v)
	}
	pages := le.Uint32(data[12:])
	if pages == 0 || pages > ndbMaxSlotPages {
		return nil, fmt.Errorf("%d slot pages", pages)
	}
	end := int64(pages) * ndbSlotPageSize
	if end > int64(len(data)) {
		return nil, fmt.Errorf("%d slot pages in %d bytes: %w", pages, len(data), errShort)
	}
	var blobs [][]byte
	for off := int64(32); off < end; off += ndbSlotSize {
		s := data[off : off+ndbSlotSize]
		if string(s[:4]) != "Slot" {
			return nil, fmt.Errorf("bad slot magic at offset %d", off)
		}
		pkg := le.Uint32(s[4:])
		if pkg == 0 {
			continue
		}
		blob := int64(le.Uint32(s[8:])) * ndbSlotSize
		if blob < end || blob+16 > int64(len(data)) {
			return nil, fmt.Errorf("package %d: blob at offset %d outside the file", pkg, blob)
		}
		b := data[blob : blob+16]
		if string(b[:4]) != "BlbS" || le.Uint32(b[4:]) != pkg {
			return nil, fmt.Errorf("package %d: no blob at offset %d", pkg, blob)
		}
		n := int64(le.Uint32(b[12:]))
		if blob+16+n > int64(len(data)) {
			return nil, fmt.Errorf("package %d: blob of %d bytes at offset %d: %w", pkg, n, blob, errShort)
		}
		blobs = append(blobs, data[blob+16:blob+16+n])
	}
	return blobs, nil
}

// ndbFile lays rpm headers out as an NDB file (what ndbBlobs reads back):
// one slot page, then each header as a blob.
func ndbFile(blobs [][]byte) []byte {
	le := binary.LittleEndian
	pages := (32 + (len(blobs)+1)*ndbSlotSize + ndbSlotPageSize - 1) / ndbSlotPageSize
	buf := make([]byte, pages*ndbSlotPageSize)
	copy(buf, "RpmP")
	le.PutUint32(buf[12:], uint32(pages))
	for off := 32; off < len(buf); off += ndbSlotSize {
		copy(buf[off:], "Slot")
	}
	for i, b := range blobs {
		off := len(buf)
		slot := buf[32+i*ndbSlotSize:]
		le.PutUint32(slot[4:], uint32(i+1))
		le.PutUint32(slot[8:], uint32(off/ndbSlotSize))
		le.PutUint32(slot[12:], uint32((16+len(b)+ndbSlotSize-1)/ndbSlotSize+1))
		var hdr [16]byte
		copy(hdr[:], "BlbS")
		le.PutUint32(hdr[4:], uint32(i+1))
		le.PutUint32(hdr[12:], uint32(len(b)))
		buf = append(buf, hdr[:]...)
		buf = append(buf, b...)
		buf = append(buf, make([]byte, 16+(ndbSlotSize-len(b)%ndbSlotSize)%ndbSlotSize)...)
	}
	return buf
}

// BerkeleyDB hash layout (libdb db_page.h), as go-rpmdb reads it.
const (
	bdbHashMagic      = 0x00061561
	bdbPageHeaderSize = 26
	bdbHashUnsorted   = 2
	bdbOverflow       = 7
	bdbHashPage       = 13
	bdbHOffPage       = 3
	bdbHOffPageSize   = 12
)

func isBDBMagic(b []byte) bool {
	return binary.LittleEndian.Uint32(b) == bdbHashMagic || binary.BigEndian.Uint32(b) == bdbHashMagic
}

// bdbBlobs walks every hash page and every overflow chain of a BerkeleyDB
// hash file and returns the values (rpm headers) in go-rpmdb's order,
// refusing what go-rpmdb would not survive: entries or offsets
// past their page (it panics), a chain reaching a page that is not an
// overflow page (it spins forever), a chain that loops or reuses another
// chain's pages (unbounded time and memory), pages past the file's end.
// Each overflow page is visited at most once, so the walk, and go-rpmdb's
// after it, cost at most the file's size.
func bdbBlobs(data []byte) ([][]byte, error) {
	var order binary.ByteOrder = binary.LittleEndian
	if binary.LittleEndian.Uint32(data[12:]) != bdbHashMagic {
		order = binary.BigEndian
	}
	if len(data) < 512 {
		return nil, errShort
	}
	ps := int64(order.Uint32(data[20:]))
	switch ps {
	case 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536:
	default:
		return nil, fmt.Errorf("page size %d", ps)
	}
	if data[24] != 0 {
		return nil, fmt.Errorf("encrypted (algorithm %d)", data[24])
	}
	last := int64(order.Uint32(data[32:]))
	if (last+1)*ps > int64(len(data)) {
		return nil, fmt.Errorf("%d pages of %d bytes in %d bytes: %w", last+1, ps, len(data), errShort)
	}
	page := func(n int64) []byte { return data[n*ps : (n+1)*ps] }
	var blobs [][]byte
	used := map[int64]int64{} // overflow page -> the hash page whose chain holds it
	for n := int64(0); n <= last; n++ {
		p := page(n)
		if t := p[25]; t != bdbHashPage && t != bdbHashUnsorted {
			continue
		}
		entries := int64(order.Uint16(p[20:]))
		if entries%2 != 0 || bdbPageHeaderSize+entries*2 > ps {
			return nil, fmt.Errorf("page %d: %d entries", n, entries)
		}
		// Entries are key/value offset pairs; values are the odd ones.
		for i := int64(1); i < entries; i += 2 {
			off := int64(order.Uint16(p[bdbPageHeaderSize+2*i:]))
			if off >= ps {
				return nil, fmt.Errorf("page %d: entry %d at offset %d", n, i, off)
			}
			if p[off] != bdbHOffPage {
				continue
			}
			if off+bdbHOffPageSize > ps {
				return nil, fmt.Errorf("page %d: entry %d at offset %d", n, i, off)
			}
			var blob []byte
			for next := int64(order.Uint32(p[off+4:])); next != 0; {
				if next > last {
					return nil, fmt.Errorf("page %d: overflow page %d past the last page %d", n, next, last)
				}
				if by, ok := used[next]; ok {
					return nil, fmt.Errorf("page %d: overflow page %d already in the chain of page %d (pages loop)", n, next, by)
				}
				used[next] = n
				op := page(next)
				if op[25] != bdbOverflow {
					return nil, fmt.Errorf("page %d: chain reaches page %d of type %d, not overflow", n, next, op[25])
				}
				nn := int64(order.Uint32(op[16:]))
				if nn != 0 {
					blob = append(blob, op[bdbPageHeaderSize:]...)
				} else {
					free := int64(order.Uint16(op[22:]))
					if bdbPageHeaderSize+free > ps {
						return nil, fmt.Errorf("overflow page %d: %d bytes", next, free)
					}
					blob = append(blob, op[bdbPageHeaderSize:bdbPageHeaderSize+free]...)
				}
				next = nn
			}
			blobs = append(blobs, blob)
		}
	}
	return blobs, nil
}

// rpm header tags and types pkgdb reads itself (go-rpmdb does not expose
// FILELINKTOS).
const (
	rpmTagName        = 1000
	rpmTagFileLinkTos = 1036
	rpmTypeString     = 6
	rpmTypeStringArr  = 8
	rpmHeaderTagsMax  = 0x10000
)

// headerLinks reads NAME and FILELINKTOS from an rpm header blob (il, dl,
// il 16-byte entries, dl bytes of data, big-endian), every offset checked
// against the data.
func headerLinks(blob []byte) (string, []string, error) {
	be := binary.BigEndian
	if len(blob) < 8 {
		return "", nil, errShort
	}
	il, dl := int64(be.Uint32(blob)), int64(be.Uint32(blob[4:]))
	if il < 1 || il > rpmHeaderTagsMax || 8+16*il+dl > int64(len(blob)) {
		return "", nil, fmt.Errorf("header of %d tags and %d bytes in %d", il, dl, len(blob))
	}
	data := blob[8+16*il : 8+16*il+dl]
	strs := func(off, count int64) ([]string, error) {
		if off < 0 || off > dl || count > dl {
			return nil, fmt.Errorf("strings at %d", off)
		}
		out := make([]string, 0, min(count, 4096))
		rest := data[off:]
		for range count {
			i := bytes.IndexByte(rest, 0)
			if i < 0 {
				return nil, errShort
			}
			out = append(out, string(rest[:i]))
			rest = rest[i+1:]
		}
		return out, nil
	}
	var name string
	var links []string
	for i := int64(0); i < il; i++ {
		e := blob[8+16*i:]
		tag, typ := be.Uint32(e), be.Uint32(e[4:])
		off, count := int64(int32(be.Uint32(e[8:]))), int64(be.Uint32(e[12:]))
		var err error
		switch {
		case tag == rpmTagName && typ == rpmTypeString:
			var s []string
			if s, err = strs(off, 1); err == nil {
				name = s[0]
			}
		case tag == rpmTagFileLinkTos && typ == rpmTypeStringArr:
			links, err = strs(off, count)
		}
		if err != nil {
			return "", nil, fmt.Errorf("tag %d: %w", tag, err)
		}
	}
	return name, links, nil
}

// bdbFile lays rpm headers out as a BerkeleyDB hash database (Packages of
// rpm < 4.16, which Debian's rpm cannot write): a metadata page, one hash
// page of key/HOFFPAGE pairs, and each header in a chain of overflow
// pages.
func bdbFile(blobs [][]byte, ps int) []byte {
	le := binary.LittleEndian
	chunk := ps - bdbPageHeaderSize
	pages := 2
	for _, b := range blobs {
		pages += (len(b) + chunk - 1) / chunk
	}
	buf := make([]byte, pages*ps)
	meta := buf[:ps]
	le.PutUint32(meta[12:], bdbHashMagic)
	le.PutUint32(meta[16:], 9)
	le.PutUint32(meta[20:], uint32(ps))
	meta[25] = 8
	le.PutUint32(meta[32:], uint32(pages-1))
	hp := buf[ps : 2*ps]
	le.PutUint32(hp[8:], 1)
	hp[25] = bdbHashPage
	le.PutUint16(hp[20:], uint16(2*len(blobs)))
	top := ps
	next := 2
	for i, b := range blobs {
		// key: H_KEYDATA with the package number
		top -= 5
		hp[top] = 1
		le.PutUint32(hp[top+1:], uint32(i+1))
		le.PutUint16(hp[bdbPageHeaderSize+4*i:], uint16(top))
		// value: HOFFPAGE naming the first overflow page
		top -= bdbHOffPageSize
		hp[top] = bdbHOffPage
		le.PutUint32(hp[top+4:], uint32(next))
		le.PutUint32(hp[top+8:], uint32(len(b)))
		le.PutUint16(hp[bdbPageHeaderSize+4*i+2:], uint16(top))
		for rest := b; len(rest) > 0; next++ {
			op := buf[next*ps : (next+1)*ps]
			le.PutUint32(op[8:], uint32(next))
			op[25] = bdbOverflow
			n := copy(op[bdbPageHeaderSize:], rest)
			rest = rest[n:]
			if len(rest) > 0 {
				le.PutUint32(op[16:], uint32(next+1))
			} else {
				le.PutUint16(op[22:], uint16(n))
			}
		}
	}
	le.PutUint16(hp[22:], uint16(top))
	return buf
}

// BDBFile lays rpm headers out as a BerkeleyDB hash database (the Packages
// of rpm < 4.16) of ps-byte pages, as bdbBlobs reads it back: for tests of
// images that hold one.
func BDBFile(headers [][]byte, ps int) []byte { return bdbFile(headers, ps) }

// NDBFile lays rpm headers out as an NDB database (SUSE's Packages.db), as
// rpm's ndb backend does: for tests that need one, since Debian's rpm is
// built without that backend.
func NDBFile(headers [][]byte) []byte { return ndbFile(headers) }
