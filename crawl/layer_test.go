package crawl

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/auditor-dev/auditor"
)

// tarEntry describes one entry of a test tar.
type tarEntry struct {
	hdr  tar.Header
	body string
}

func makeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1700000000, 0)
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compress(t testing.TB, kind string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch kind {
	case "gzip":
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
	case "zstd":
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(b)
		zw.Close()
	default:
		return b
	}
	return buf.Bytes()
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func hexOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestReadLayerEntries(t *testing.T) {
	elf := "\x7fELF\x02\x01\x01binary"
	entries := []tarEntry{
		{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "usr/bin/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "usr/bin/tool", Mode: 0o4755, Uid: 0, Uname: "root"}, body: elf},
		{hdr: tar.Header{Name: "usr/bin/tool-link", Typeflag: tar.TypeLink, Linkname: "usr/bin/tool"}},
		{hdr: tar.Header{Name: "usr/bin/run.sh", Mode: 0o755, Uid: 1000, Gid: 1000}, body: "#!/bin/sh\necho hi\n"},
		{hdr: tar.Header{Name: "etc/empty", Mode: 0o644}},
		{hdr: tar.Header{Name: "etc/data", Mode: 0o600}, body: "plain data"},
		{hdr: tar.Header{Name: "bin", Typeflag: tar.TypeSymlink, Linkname: "usr/bin"}},
		{hdr: tar.Header{Name: "etc/.wh.motd"}},
		{hdr: tar.Header{Name: "opt/data/.wh..wh..opq"}},
		{hdr: tar.Header{Name: "opt/.wh..wh.plnk"}},
		{hdr: tar.Header{Name: "../../etc/shadow", Mode: 0o640}, body: "x"},
		{hdr: tar.Header{Name: "odd\nname"}, body: "y"},
		{hdr: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}},
		{hdr: tar.Header{Name: "tmp/fifo", Typeflag: tar.TypeFifo}},
		{hdr: tar.Header{Name: "cap", Mode: 0o755, PAXRecords: map[string]string{
			// vfs_cap_data v2: effective, permitted cap_net_bind_service (bit 10)
			"SCHILY.xattr.security.capability": string([]byte{1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
		}}, body: "c"},
	}
	raw := makeTar(t, entries)
	for _, kind := range []string{"gzip", "zstd", "none"} {
		t.Run(kind, func(t *testing.T) {
			blob := compress(t, kind, raw)
			l, err := ReadLayer(context.Background(), bytes.NewReader(blob), LayerInput{Digest: digestOf(blob), DiffID: digestOf(raw), Verify: true, CheckDiffID: true}, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if l.Compression != kind || l.Size != int64(len(blob)) || l.UncompressedSize != int64(len(raw)) || l.DiffID != digestOf(raw) {
				t.Errorf("layer = %s %d/%d %s", l.Compression, l.Size, l.UncompressedSize, l.DiffID)
			}
			if len(l.Entries) != len(entries) {
				t.Fatalf("%d entries, want %d", len(l.Entries), len(entries))
			}
			want := []struct {
				path, raw string
				typ       auditor.EntryType
				sha       string
				kind      auditor.ContentKind
				mode      int64
				link      string
			}{
				{"/", "./", auditor.TypeDir, "", auditor.KindNone, 0o755, ""},
				{"/usr/bin", "", auditor.TypeDir, "", auditor.KindNone, 0o755, ""},
				{"/usr/bin/tool", "", auditor.TypeFile, hexOf(elf), auditor.KindELF, 0o4755, ""},
				{"/usr/bin/tool-link", "", auditor.TypeHardlink, hexOf(elf), auditor.KindNone, 0, "usr/bin/tool"},
				{"/usr/bin/run.sh", "", auditor.TypeFile, hexOf("#!/bin/sh\necho hi\n"), auditor.KindScript, 0o755, ""},
				{"/etc/empty", "", auditor.TypeFile, hexOf(""), auditor.KindEmpty, 0o644, ""},
				{"/etc/data", "", auditor.TypeFile, hexOf("plain data"), auditor.KindOther, 0o600, ""},
				{"/bin", "", auditor.TypeSymlink, "", auditor.KindNone, 0, "usr/bin"},
				{"/etc/motd", "etc/.wh.motd", auditor.TypeWhiteout, "", auditor.KindNone, 0, ""},
				{"/opt/data", "opt/data/.wh..wh..opq", auditor.TypeOpaque, "", auditor.KindNone, 0, ""},
				{"/opt/.wh..wh.plnk", "", auditor.TypeFile, hexOf(""), auditor.KindEmpty, 0, ""},
				{"/etc/shadow", "../../etc/shadow", auditor.TypeFile, hexOf("x"), auditor.KindOther, 0o640, ""},
				{"/odd\nname", "", auditor.TypeFile, hexOf("y"), auditor.KindOther, 0, ""},
				{"/dev/null", "", auditor.TypeChar, "", auditor.KindNone, 0, "1:3"},
				{"/tmp/fifo", "", auditor.TypeFIFO, "", auditor.KindNone, 0, ""},
				{"/cap", "", auditor.TypeFile, hexOf("c"), auditor.KindOther, 0o755, ""},
			}
			for i, w := range want {
				e := l.Entries[i]
				if e.Path != w.path || e.RawName != w.raw || e.Type != w.typ || e.SHA256 != w.sha || e.Kind != w.kind || e.Mode != w.mode || e.Linkname != w.link {
					t.Errorf("entry %d = %+v\nwant %+v", i, e, w)
				}
			}
			if got := l.Entries[15].Capabilities; got != "cap_net_bind_service=ep" {
				t.Errorf("capabilities = %q", got)
			}
			if l.Entries[2].Uname != "root" || l.Entries[4].UID != 1000 {
				t.Errorf("owners: %+v %+v", l.Entries[2], l.Entries[4])
			}
		})
	}
}

func TestReadLayerErrors(t *testing.T) {
	raw := makeTar(t, []tarEntry{{hdr: tar.Header{Name: "a"}, body: strings.Repeat("data ", 1000)}, {hdr: tar.Header{Name: "b"}, body: "b"}})
	gz := compress(t, "gzip", raw)
	zs := compress(t, "zstd", raw)
	corrupt := func(b []byte) []byte {
		c := append([]byte(nil), b...)
		for i := len(c) / 3; i < len(c)/3+16; i++ {
			c[i] ^= 0xff
		}
		return c
	}
	tests := []struct {
		name string
		blob []byte
		in   LayerInput
		lim  Limits
		want string
		is   error
	}{
		{name: "digest mismatch", blob: gz, in: LayerInput{Digest: digestOf([]byte("other")), Verify: true}, want: "blob hashes to", is: ErrDigestMismatch},
		{name: "diff_id mismatch", blob: gz, in: LayerInput{DiffID: digestOf([]byte("other")), CheckDiffID: true}, want: "diff_id", is: ErrDigestMismatch},
		{name: "corrupt and not the digest's", blob: corrupt(gz), in: LayerInput{Digest: digestOf(gz), Verify: true}, want: "(and decoding it failed: ", is: ErrDigestMismatch},
		{name: "truncated gzip", blob: gz[:len(gz)/2], want: "gzip"},
		{name: "corrupt gzip", blob: corrupt(gz), want: "gzip"},
		{name: "truncated zstd", blob: zs[:len(zs)/2], want: "zstd"},
		{name: "corrupt zstd", blob: corrupt(zs), want: "zstd"},
		{name: "truncated tar", blob: raw[:700], want: "reading"},
		{name: "too many entries", blob: gz, lim: Limits{MaxEntries: 1}, want: "more than 1 tar entries", is: ErrLimit},
		// The files declare 5,001 bytes; the tar, headers and padding, is 7,680.
		{name: "too many bytes", blob: gz, lim: Limits{MaxUncompressedSize: 5500}, want: "uncompressed bytes", is: ErrLimit},
		{name: "file over the bytes left", blob: gz, lim: Limits{MaxUncompressedSize: 2048}, want: `"a" declares 5000 bytes`, is: ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadLayer(context.Background(), bytes.NewReader(tt.blob), tt.in, tt.lim)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("error %q, want it to contain %q (is %v)", err, tt.want, tt.is)
			}
		})
	}
}

func TestReadLayerCancelled(t *testing.T) {
	raw := makeTar(t, []tarEntry{{hdr: tar.Header{Name: "a"}, body: "a"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadLayer(ctx, bytes.NewReader(raw), LayerInput{}, Limits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestDecodeCapabilities(t *testing.T) {
	tests := map[string][]byte{
		"cap_net_bind_service=ep":     {1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"cap_net_admin,cap_net_raw=p": {0, 0, 0, 2, 0, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"cap_setuid=eip":              {1, 0, 0, 1, 0x80, 0, 0, 0, 0x80, 0, 0, 0},
		"raw:0102":                    {1, 2},
		"cap_sys_admin=p":             {0, 0, 0, 3, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	}
	for want, in := range tests {
		if got := decodeCapabilities(in); got != want {
			t.Errorf("decodeCapabilities(% x) = %q, want %q", in, got, want)
		}
	}
}

func TestReadLayerDiffID(t *testing.T) {
	raw := makeTar(t, []tarEntry{{hdr: tar.Header{Name: "a"}, body: "a"}})
	gz := compress(t, "gzip", raw)
	// Unknown diff_id: computed.
	l, err := ReadLayer(context.Background(), bytes.NewReader(gz), LayerInput{}, Limits{})
	if err != nil || l.DiffID != digestOf(raw) {
		t.Errorf("computed diff_id %v, %v; want %s", l, err, digestOf(raw))
	}
	// Known and not checked (the blob digest is verified elsewhere): recorded as given.
	l, err = ReadLayer(context.Background(), bytes.NewReader(gz), LayerInput{DiffID: "sha256:given"}, Limits{})
	if err != nil || l.DiffID != "sha256:given" {
		t.Errorf("recorded diff_id %v, %v", l, err)
	}
}
