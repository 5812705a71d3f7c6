package crawl_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// The hostile-input corpus, made in code: layer blobs that a malicious or
// broken image can hold. Each builder returns the blob and, where it is a
// tar that can be read, the uncompressed tar (for the diff_id).

// tarEntry is one entry of a crafted tar.
type tarEntry struct {
	hdr  tar.Header
	body string
}

func file(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(1700000000, 0)}, body: body}
}

func tarOf(t testing.TB, format tar.Format, entries ...tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := e.hdr
		h.Format = format
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("tar header %.40q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

// corrupt flips bytes in the middle of b (a copy).
func corrupt(b []byte) []byte {
	c := bytes.Clone(b)
	for i := len(c) / 2; i < len(c)/2+16 && i < len(c); i++ {
		c[i] ^= 0x5a
	}
	return c
}

// bigTar is a tar of n small files with distinct names.
func bigTar(t testing.TB, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for i := range n {
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f/%d", i), Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	return b.Bytes()
}

// gzipBomb is a tar whose one entry claims size bytes of zeros, gzip
// compressed as repeated members: about 1 KiB of blob per MiB of output.
func gzipBomb(t testing.TB, size int64) []byte {
	t.Helper()
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: size, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	// The header is written; the content is never finished on purpose.
	blob := gz(t, hdr.Bytes())
	const chunk = 8 << 20
	member := gz(t, make([]byte, chunk))
	for written := int64(0); written < size; written += chunk {
		blob = append(blob, member...)
	}
	return blob
}

// rawHeader is a hand-made ustar header block, for fields archive/tar
// refuses to write (NUL in names, absurd sizes).
func rawHeader(name, size string, typeflag byte) []byte {
	h := make([]byte, 512)
	copy(h[0:100], name)
	copy(h[100:108], "0000644\x00")
	copy(h[108:116], "0000000\x00")
	copy(h[116:124], "0000000\x00")
	copy(h[124:136], size)
	copy(h[136:148], "14707054500\x00")
	h[156] = typeflag
	copy(h[257:263], "ustar\x00")
	copy(h[263:265], "00")
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return h
}

// padded is content padded to whole tar blocks.
func padded(content []byte) []byte {
	out := bytes.Clone(content)
	if pad := len(content) % 512; pad != 0 {
		out = append(out, make([]byte, 512-pad)...)
	}
	return out
}

// rawHeaderTar returns a one-entry tar with a hand-made header.
func rawHeaderTar(name string, size string, typeflag byte, content []byte) []byte {
	out := append(rawHeader(name, size, typeflag), padded(content)...)
	return append(out, make([]byte, 1024)...)
}

// paxRecord is one "LEN key=value\n" record of a PAX header.
func paxRecord(key, value string) string {
	body := " " + key + "=" + value + "\n"
	rec := body
	for size := len(body); ; { // the length prefix counts itself
		rec = fmt.Sprint(size) + body
		if len(rec) == size {
			return rec
		}
		size = len(rec)
	}
}

// paxHeader is the header block and data of a PAX extended header.
func paxHeader(records ...string) []byte {
	data := strings.Join(records, "")
	return append(rawHeader("PaxHeaders/x", fmt.Sprintf("%011o\x00", len(data)), 'x'), padded([]byte(data))...)
}

// hugePAX is a tar whose PAX header holds a path record of n bytes.
func hugePAX(n int) []byte {
	out := paxHeader(paxRecord("path", strings.Repeat("a", n)))
	out = append(out, rawHeader("x", "00000000000\x00", '0')...)
	return append(out, make([]byte, 1024)...)
}

// sparseTar is a tar of one GNU sparse file (PAX format 1.0, as GNU tar
// --sparse --format=posix writes it) of size logical bytes: 4 bytes of
// data at offset 0, the rest a hole. The blob is about 2 KiB whatever size
// is; archive/tar reads the hole as zeros.
func sparseTar(name string, size int64) []byte {
	const data = "data"
	sparseMap := padded([]byte("1\n0\n" + fmt.Sprint(len(data)) + "\n"))
	out := paxHeader(
		paxRecord("GNU.sparse.major", "1"), paxRecord("GNU.sparse.minor", "0"),
		paxRecord("GNU.sparse.name", name), paxRecord("GNU.sparse.realsize", fmt.Sprint(size)))
	out = append(out, rawHeader("GNUSparseFile.0/"+name, fmt.Sprintf("%011o\x00", len(sparseMap)+len(data)), '0')...)
	out = append(out, sparseMap...)
	out = append(out, padded([]byte(data))...)
	return append(out, make([]byte, 1024)...)
}

// longNames is a gzip tar of n empty files with distinct PAX names of
// size bytes each: it compresses to a few KiB per megabyte of names.
func longNames(t testing.TB, n, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for i := range n {
		name := fmt.Sprintf("n%05d", i) + strings.Repeat("n", size-6)
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	return gz(t, b.Bytes())
}

// paxWithNUL is a tar whose PAX path record holds a NUL byte.
func paxWithNUL(t testing.TB) []byte {
	// A non-ASCII name goes into a PAX path record.
	b := tarOf(t, tar.FormatPAX, tarEntry{hdr: tar.Header{Name: "evil@name\u00fc", Typeflag: tar.TypeReg}})
	if !bytes.Contains(b, []byte("path=evil@name")) {
		t.Fatal("no PAX path record written")
	}
	return bytes.ReplaceAll(b, []byte("evil@name"), []byte("evil\x00name"))
}

// hostileLayer is one case of the corpus.
type hostileLayer struct {
	name string
	blob []byte
	// wantErr is a substring of the error ReadLayer must give; "" means it
	// must succeed, and check then verifies what was recorded.
	wantErr string
	check   func(t *testing.T, paths map[string]string) // path -> "type raw_name linkname"
}

// hostileLayers builds the corpus. The caps it is read with are
// corpusLimits.
func hostileLayers(t testing.TB) []hostileLayer {
	good := tarOf(t, tar.FormatPAX, file("etc/hostname", "box\n"), file("bin/sh", "#!/bin/sh\n"))
	return []hostileLayer{
		{name: "truncated gzip", blob: gz(t, good)[:len(gz(t, good))/2], wantErr: "unexpected EOF"},
		{name: "corrupt gzip", blob: corrupt(gz(t, bigTar(t, 2000))), wantErr: "gzip"},
		{name: "truncated zstd", blob: zst(t, good)[:len(zst(t, good))-8], wantErr: "zstd"},
		{name: "corrupt zstd", blob: corrupt(zst(t, bigTar(t, 2000))), wantErr: "zstd"},
		{name: "gzip bomb", blob: gzipBomb(t, 1<<30), wantErr: "layer exceeds limit"},
		{name: "tar bomb", blob: gz(t, bigTar(t, 150_000)), wantErr: "more than 100000 tar entries"},
		{name: "absurd size", blob: rawHeaderTar("big", "77777777777\x00", '0', []byte("tiny")), wantErr: `"big" declares 8589934591 bytes`},
		{name: "absurd base-256 size", blob: rawHeaderTar("big", "\x80\x00\x00\x00\x7f\xff\xff\xff\xff\xff\xff\xff", '0', []byte("tiny")), wantErr: `"big" declares 9223372036854775807 bytes`},
		{name: "sparse file over the cap", blob: gz(t, sparseTar("big", 1<<30)), wantErr: `"big" declares 1073741824 bytes (the holes of a sparse file count)`},
		{name: "sparse petabyte", blob: sparseTar("huge", 1<<50), wantErr: "layer exceeds limit"},
		{name: "long PAX names", blob: longNames(t, 20, 512<<10), wantErr: "tar entry 0 \"n00000nnnn"},
		{name: "long link target", blob: tarOf(t, tar.FormatPAX, file("ok", "x"), tarEntry{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: strings.Repeat("../", 1366)}}), wantErr: "tar entry 1 \"l\"...: its link target is 4098 bytes, over 4096"},
		{name: "long user name", blob: tarOf(t, tar.FormatPAX, tarEntry{hdr: tar.Header{Name: "u", Typeflag: tar.TypeReg, Uname: strings.Repeat("u", 5000)}}), wantErr: "its user name is 5000 bytes"},
		{
			name: "names of 4096 bytes",
			blob: tarOf(t, tar.FormatPAX, tarEntry{hdr: tar.Header{Name: strings.Repeat("d/", 2047) + "fi", Typeflag: tar.TypeSymlink, Linkname: strings.Repeat("t", 4096)}}),
			check: func(t *testing.T, p map[string]string) {
				if v := p["/"+strings.Repeat("d/", 2047)+"fi"]; v != "symlink  "+strings.Repeat("t", 4096) {
					t.Errorf("the entry of 4096-byte names is not recorded whole: %.40q", v)
				}
			},
		},
		{name: "huge PAX record", blob: hugePAX(64 << 20), wantErr: "header field too long"},
		{name: "NUL in PAX name", blob: paxWithNUL(t), wantErr: "archive/tar"},
		{name: "not a tar", blob: gz(t, []byte(strings.Repeat("this is not a tar archive\n", 100))), wantErr: "tar"},
		{
			name: "escaping names and links",
			blob: tarOf(t, tar.FormatPAX,
				file("../../etc/passwd", "root::0:0::/:/bin/sh\n"),
				file("/etc/shadow", "x"),
				tarEntry{hdr: tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "../../../../etc/shadow"}},
				tarEntry{hdr: tar.Header{Name: "abs", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}},
				tarEntry{hdr: tar.Header{Name: "hl", Typeflag: tar.TypeLink, Linkname: "../../../etc/passwd"}},
			),
			check: func(t *testing.T, p map[string]string) {
				want := map[string]string{
					"/etc/passwd": "file ../../etc/passwd ", "/etc/shadow": "file /etc/shadow ",
					"/evil": "symlink  ../../../../etc/shadow", "/abs": "symlink  /etc/shadow", "/hl": "hardlink  ../../../etc/passwd",
				}
				for k, v := range want {
					if p[k] != v {
						t.Errorf("%s: recorded %q, want %q", k, p[k], v)
					}
				}
			},
		},
		{
			name: "odd bytes in names",
			blob: tarOf(t, tar.FormatGNU, file("new\nline", "a"), file("bad\xff\xfeutf8", "b"), file("tab\there", "c")),
			check: func(t *testing.T, p map[string]string) {
				for _, k := range []string{"/new\nline", "/bad\xff\xfeutf8", "/tab\there"} {
					if _, ok := p[k]; !ok {
						t.Errorf("%q not recorded (have %q)", k, keys(p))
					}
				}
			},
		},
		{
			name: "NUL in ustar name",
			blob: rawHeaderTar("before\x00after", "00000000004\x00", '0', []byte("data")),
			check: func(t *testing.T, p map[string]string) {
				if _, ok := p["/before"]; !ok || len(p) != 1 {
					t.Errorf("recorded %q, want only /before (a ustar name ends at its NUL)", keys(p))
				}
			},
		},
		{
			name: "duplicate entries",
			blob: tarOf(t, tar.FormatPAX, file("etc/passwd", "one"), file("etc/passwd", "two"), file("etc/passwd", "three")),
			check: func(t *testing.T, p map[string]string) {
				if len(p) != 1 {
					t.Errorf("paths %q", keys(p))
				}
			},
		},
		{
			name: "crafted whiteouts",
			blob: tarOf(t, tar.FormatPAX,
				file("a/.wh..wh..opqX", ""), file("b/.wh.", ""), file("c/d/.wh..", ""), file("e/f/.wh...", ""),
				file("g/.wh..wh..opq", ""), file("h/.wh.gone", ""),
			),
			check: func(t *testing.T, p map[string]string) {
				want := map[string]string{
					"/a/.wh..wh..opqX": "file  ", "/b/.wh.": "file  ", "/c/d/.wh..": "file  ", "/e/f/.wh...": "file  ",
					"/g": "opaque g/.wh..wh..opq ", "/h/gone": "whiteout h/.wh.gone ",
				}
				for k, v := range want {
					if p[k] != v {
						t.Errorf("%s: recorded %q, want %q (all: %q)", k, p[k], v, keys(p))
					}
				}
				for _, bad := range []string{"/c", "/c/d", "/e"} {
					if v, ok := p[bad]; ok {
						t.Errorf("a crafted whiteout deletes %s (%s)", bad, v)
					}
				}
			},
		},
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
