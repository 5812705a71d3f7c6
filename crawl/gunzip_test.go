package crawl_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/auditor-dev/auditor/crawl"
)

// gzipHeader is what a crafted gzip member's header carries.
type gzipHeader struct {
	extra         []byte // FEXTRA, when not nil
	name, comment string // FNAME, FCOMMENT, when not ""
	hcrc          bool   // FHCRC
	badHCRC       bool   // an FHCRC that does not match
}

// gzipMember makes one gzip member (RFC 1952) of content by hand:
// compress/gzip cannot write header strings with every length, nor FHCRC.
func gzipMember(t testing.TB, h gzipHeader, content []byte) []byte {
	t.Helper()
	var flags byte
	var fields []byte
	if h.extra != nil {
		flags |= 1 << 2
		fields = binary.LittleEndian.AppendUint16(fields, uint16(len(h.extra)))
		fields = append(fields, h.extra...)
	}
	if h.name != "" {
		flags |= 1 << 3
		fields = append(append(fields, h.name...), 0)
	}
	if h.comment != "" {
		flags |= 1 << 4
		fields = append(append(fields, h.comment...), 0)
	}
	if h.hcrc || h.badHCRC {
		flags |= 1 << 1
	}
	out := []byte{0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3}
	out = append(out, fields...)
	if flags&(1<<1) != 0 {
		sum := uint16(crc32.ChecksumIEEE(out))
		if h.badHCRC {
			sum++
		}
		out = binary.LittleEndian.AppendUint16(out, sum)
	}
	var body bytes.Buffer
	fw, err := flate.NewWriter(&body, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	out = append(out, body.Bytes()...)
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(content))
	return binary.LittleEndian.AppendUint32(out, uint32(len(content)))
}

// gzipAccepts runs gzip -t, the oracle, on blob; ok is false without gzip.
func gzipAccepts(t *testing.T, blob []byte) (accepted, ok bool) {
	t.Helper()
	bin, err := exec.LookPath("gzip")
	if err != nil {
		return false, false
	}
	f := filepath.Join(t.TempDir(), "layer.gz")
	if err := os.WriteFile(f, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	return exec.Command(bin, "-t", f).Run() == nil, true
}

// TestGzipHeaders: every header gzip -t accepts is read, however long its
// fields (Go's gzip readers refuse names and comments over 511 bytes), in
// every member of a multi-member blob; headers gzip refuses are refused.
func TestGzipHeaders(t *testing.T) {
	tr := tarOf(t, tar.FormatPAX, file("etc/hostname", "box\n"), file("bin/sh", "#!/bin/sh\n"))
	long := strings.Repeat("c", 70_000) // longer than bufio's 64 KiB buffer
	half := len(tr) / 2
	cases := []struct {
		name string
		blob []byte
		ok   bool
	}{
		{"comment of 512 bytes", gzipMember(t, gzipHeader{comment: strings.Repeat("c", 512)}, tr), true},
		{"long name, comment and extra, header CRC", gzipMember(t, gzipHeader{extra: bytes.Repeat([]byte{'x'}, 65535), name: strings.Repeat("n", 4096), comment: long, hcrc: true}, tr), true},
		{"members with long comments", append(gzipMember(t, gzipHeader{comment: long}, tr[:half]), gzipMember(t, gzipHeader{name: long}, tr[half:])...), true},
		{"wrong header CRC", gzipMember(t, gzipHeader{comment: "c", badHCRC: true}, tr), false},
		{"comment without its end", append([]byte{0x1f, 0x8b, 8, 1 << 4, 0, 0, 0, 0, 0, 3}, "no NUL"...), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if accepted, ok := gzipAccepts(t, c.blob); ok && accepted != c.ok {
				t.Fatalf("gzip -t accepts: %v; the case says %v", accepted, c.ok)
			}
			l, err := crawl.ReadLayer(context.Background(), bytes.NewReader(c.blob), crawl.LayerInput{Digest: digestOf(c.blob), Verify: true}, crawl.Limits{})
			if !c.ok {
				if err == nil || !strings.Contains(err.Error(), "gzip: ") {
					t.Fatalf("ReadLayer: %v, want a gzip error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadLayer: %v", err)
			}
			if len(l.Entries) != 2 || l.Compression != "gzip" || l.DiffID != digestOf(tr) {
				t.Errorf("read %d entries, compression %s, diff_id %s; want 2, gzip, %s", len(l.Entries), l.Compression, l.DiffID, digestOf(tr))
			}
		})
	}
}

// TestGzipMadeByGzip reads a layer compressed by gzip itself, with the
// file name it records (FNAME).
func TestGzipMadeByGzip(t *testing.T) {
	bin, err := exec.LookPath("gzip")
	if err != nil {
		t.Skip("no gzip")
	}
	tr := tarOf(t, tar.FormatPAX, file("etc/hostname", "box\n"))
	f := filepath.Join(t.TempDir(), strings.Repeat("n", 200)+".tar")
	if err := os.WriteFile(f, tr, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-9", "--name", f).CombinedOutput(); err != nil {
		t.Fatalf("gzip: %v\n%s", err, out)
	}
	blob, err := os.ReadFile(f + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	if blob[3]&(1<<3) == 0 {
		t.Fatal("gzip wrote no file name")
	}
	l, err := crawl.ReadLayer(context.Background(), bytes.NewReader(blob), crawl.LayerInput{Digest: digestOf(blob), Verify: true}, crawl.Limits{})
	if err != nil {
		t.Fatalf("ReadLayer: %v", err)
	}
	if len(l.Entries) != 1 || l.DiffID != digestOf(tr) {
		t.Errorf("read %d entries, diff_id %s; want 1, %s", len(l.Entries), l.DiffID, digestOf(tr))
	}
}

// FuzzGunzip: whatever klauspost's gzip reader (the one used before,
// reading headers of up to 511-byte strings) decodes, Decompress decodes
// to the same bytes; it never fails where that one succeeds.
func FuzzGunzip(f *testing.F) {
	tr := tarOf(f, tar.FormatPAX, file("etc/hostname", "box\n"))
	f.Add(gz(f, tr))
	f.Add(append(gz(f, tr[:700]), gz(f, tr[700:])...))
	f.Add(gzipMember(f, gzipHeader{extra: []byte("xy"), name: "n", comment: "c", hcrc: true}, tr))
	f.Add(append(gz(f, tr), 0, 0, 0))
	f.Fuzz(func(t *testing.T, blob []byte) {
		if len(blob) < 2 || blob[0] != 0x1f || blob[1] != 0x8b {
			return
		}
		zr, err := kgzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			return
		}
		want, err := io.ReadAll(io.LimitReader(zr, 1<<20))
		if err != nil {
			return
		}
		rc, comp, err := crawl.Decompress(bytes.NewReader(blob))
		if err != nil {
			t.Fatalf("Decompress: %v; klauspost's gzip reads %d bytes", err, len(want))
		}
		defer rc.Close()
		got, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		if err != nil || comp != "gzip" || !bytes.Equal(got, want) {
			t.Fatalf("Decompress read %d bytes (%s, %v); klauspost's gzip %d", len(got), comp, err, len(want))
		}
	})
}
