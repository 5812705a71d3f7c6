package pkgdb

import (
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

// checkNDB walks every slot and blob header of an NDB file, refusing what
// go-rpmdb would mishandle: a bad slot magic (it prints to stdout), a blob
// whose magic or package index is wrong (it goes on after reporting it,
// and its caller stops reading), or a blob that does not fit in the file
// (it allocates the length the file claims).
func checkNDB(data []byte) error {
	le := binary.LittleEndian
	if len(data) < 32 {
		return errShort
	}
	if v := le.Uint32(data[4:]); v != 0 {
		return fmt.Errorf("version %d", v)
	}
	pages := le.Uint32(data[12:])
	if pages == 0 || pages > ndbMaxSlotPages {
		return fmt.Errorf("%d slot pages", pages)
	}
	end := int64(pages) * ndbSlotPageSize
	if end > int64(len(data)) {
		return fmt.Errorf("%d slot pages in %d bytes: %w", pages, len(data), errShort)
	}
	for off := int64(32); off < end; off += ndbSlotSize {
		s := data[off : off+ndbSlotSize]
		if string(s[:4]) != "Slot" {
			return fmt.Errorf("bad slot magic at offset %d", off)
		}
		pkg := le.Uint32(s[4:])
		if pkg == 0 {
			continue
		}
		blob := int64(le.Uint32(s[8:])) * ndbSlotSize
		if blob < end || blob+16 > int64(len(data)) {
			return fmt.Errorf("package %d: blob at offset %d outside the file", pkg, blob)
		}
		b := data[blob : blob+16]
		if string(b[:4]) != "BlbS" || le.Uint32(b[4:]) != pkg {
			return fmt.Errorf("package %d: no blob at offset %d", pkg, blob)
		}
		if n := int64(le.Uint32(b[12:])); blob+16+n > int64(len(data)) {
			return fmt.Errorf("package %d: blob of %d bytes at offset %d: %w", pkg, n, blob, errShort)
		}
	}
	return nil
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

// checkBDB walks every hash page and every overflow chain of a BerkeleyDB
// hash file, refusing what go-rpmdb would not survive: entries or offsets
// past their page (it panics), a chain reaching a page that is not an
// overflow page (it spins forever), a chain that loops or reuses another
// chain's pages (unbounded time and memory), pages past the file's end.
// Each overflow page is visited at most once, so the walk, and go-rpmdb's
// after it, cost at most the file's size.
func checkBDB(data []byte) error {
	var order binary.ByteOrder = binary.LittleEndian
	if binary.LittleEndian.Uint32(data[12:]) != bdbHashMagic {
		order = binary.BigEndian
	}
	if len(data) < 512 {
		return errShort
	}
	ps := int64(order.Uint32(data[20:]))
	switch ps {
	case 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536:
	default:
		return fmt.Errorf("page size %d", ps)
	}
	if data[24] != 0 {
		return fmt.Errorf("encrypted (algorithm %d)", data[24])
	}
	last := int64(order.Uint32(data[32:]))
	if (last+1)*ps > int64(len(data)) {
		return fmt.Errorf("%d pages of %d bytes in %d bytes: %w", last+1, ps, len(data), errShort)
	}
	page := func(n int64) []byte { return data[n*ps : (n+1)*ps] }
	used := map[int64]int64{} // overflow page -> the hash page whose chain holds it
	for n := int64(0); n <= last; n++ {
		p := page(n)
		if t := p[25]; t != bdbHashPage && t != bdbHashUnsorted {
			continue
		}
		entries := int64(order.Uint16(p[20:]))
		if entries%2 != 0 || bdbPageHeaderSize+entries*2 > ps {
			return fmt.Errorf("page %d: %d entries", n, entries)
		}
		// Entries are key/value offset pairs; values are the odd ones.
		for i := int64(1); i < entries; i += 2 {
			off := int64(order.Uint16(p[bdbPageHeaderSize+2*i:]))
			if off >= ps {
				return fmt.Errorf("page %d: entry %d at offset %d", n, i, off)
			}
			if p[off] != bdbHOffPage {
				continue
			}
			if off+bdbHOffPageSize > ps {
				return fmt.Errorf("page %d: entry %d at offset %d", n, i, off)
			}
			for next := int64(order.Uint32(p[off+4:])); next != 0; {
				if next > last {
					return fmt.Errorf("page %d: overflow page %d past the last page %d", n, next, last)
				}
				if by, ok := used[next]; ok {
					return fmt.Errorf("page %d: overflow page %d already in the chain of page %d (pages loop)", n, next, by)
				}
				used[next] = n
				op := page(next)
				if op[25] != bdbOverflow {
					return fmt.Errorf("page %d: chain reaches page %d of type %d, not overflow", n, next, op[25])
				}
				nn := int64(order.Uint32(op[16:]))
				if free := int64(order.Uint16(op[22:])); nn == 0 && bdbPageHeaderSize+free > ps {
					return fmt.Errorf("overflow page %d: %d bytes", next, free)
				}
				next = nn
			}
		}
	}
	return nil
}
