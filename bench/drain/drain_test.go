package drain

import (
	"archive/tar"
	"bytes"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func testTar(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755})
	for _, f := range []string{"etc/passwd", "etc/group"} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f, Mode: 0o644, Size: 5})
		tw.Write([]byte("root\n"))
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "etc/mtab", Linkname: "/proc/mounts"})
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBlob(t *testing.T) {
	plain := testTar(t)
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	zsw, _ := zstd.NewWriter(&zs)
	zsw.Write(plain)
	zsw.Close()
	want := Counts{Uncompressed: int64(len(plain)), Entries: 4, Files: 2}
	for name, blob := range map[string][]byte{"plain": plain, "gzip": gz.Bytes(), "zstd": zs.Bytes()} {
		got, err := Blob(bytes.NewReader(blob), make([]byte, 1024))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
	broken := append([]byte(nil), gz.Bytes()[:len(gz.Bytes())/2]...)
	if _, err := Blob(bytes.NewReader(broken), make([]byte, 1024)); err == nil {
		t.Error("a truncated gzip blob drained without error")
	}
}
