package crawl

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/auditor-dev/auditor/bench/drain"
)

// benchBlobs are a generated layer tar (~48 MB, ~2,000 entries with the
// size spread and compressibility of real layers: text, binaries, many
// small files, a few large ones) in the three encodings ReadLayer meets.
var benchBlobs = sync.OnceValues(func() (map[string][]byte, int64) {
	tarBytes := genBenchTar(48 << 20)
	out := map[string][]byte{"plain": tarBytes}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz) // default level, as docker, buildah and umoci write
	zw.Write(tarBytes)
	zw.Close()
	out["gzip"] = gz.Bytes()
	var zs bytes.Buffer
	zsw, _ := zstd.NewWriter(&zs)
	zsw.Write(tarBytes)
	zsw.Close()
	out["zstd"] = zs.Bytes()
	return out, int64(len(tarBytes))
})

// genBenchTar returns a tar of about size bytes, deterministic.
func genBenchTar(size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the of and to in is for on that with as by this be are from or it an at not which license copyright function return import package include define struct error value type")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := []string{"usr/", "usr/lib/", "usr/share/doc/", "usr/bin/", "opt/app/node_modules/"}
	for _, d := range dirs {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755})
	}
	content := make([]byte, 0, 8<<20)
	for i := 0; buf.Len() < size; i++ {
		var n int
		switch v := r.IntN(100); {
		case v < 70:
			n = r.IntN(4 << 10)
		case v < 98:
			n = 4<<10 + r.IntN(60<<10)
		default:
			n = 64<<10 + r.IntN(1<<20)
		}
		content = content[:0]
		if i%3 == 0 { // binary-like: random bytes with runs, compresses ~2x
			for len(content) < n {
				if r.IntN(4) == 0 {
					content = append(content, make([]byte, 16+r.IntN(64))...)
				} else {
					for range 32 {
						content = append(content, byte(r.IntN(256)))
					}
				}
			}
		} else { // text, compresses ~3-4x
			for len(content) < n {
				content = append(content, words[r.IntN(len(words))]...)
				content = append(content, ' ')
				if r.IntN(12) == 0 {
					content = fmt.Appendf(content, "%d\n", r.IntN(1e6))
				}
			}
		}
		content = content[:n]
		name := fmt.Sprintf("%sf%05d.dat", dirs[1+i%(len(dirs)-1)], i)
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(n)})
		tw.Write(content)
	}
	tw.Close()
	return buf.Bytes()
}

// BenchmarkReadLayer measures ReadLayer per uncompressed byte (MB/s) on
// gzip, zstd and plain tars; BenchmarkReadLayerLimit does only the work that
// cannot be skipped (bench/drain: decompress, walk the tar, sha256 each file,
// as bench/limit does), on the same blobs, so their ratio in one run is
// ReadLayer's overhead.
func BenchmarkReadLayer(b *testing.B) {
	blobs, size := benchBlobs()
	for _, enc := range []string{"gzip", "zstd", "plain"} {
		b.Run(enc, func(b *testing.B) {
			b.SetBytes(size)
			var files int
			for b.Loop() {
				l, err := ReadLayer(context.Background(), bytes.NewReader(blobs[enc]), LayerInput{Digest: "sha256:x"}, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				files = len(l.Entries)
			}
			b.ReportMetric(float64(files)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

func BenchmarkReadLayerLimit(b *testing.B) {
	blobs, size := benchBlobs()
	for _, enc := range []string{"gzip", "zstd", "plain"} {
		b.Run(enc, func(b *testing.B) {
			b.SetBytes(size)
			buf := make([]byte, copyBufSize)
			for b.Loop() {
				if _, err := drain.Blob(bytes.NewReader(blobs[enc]), buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadLayerManyFiles reads a layer of 200k small files (node_modules
// scale) and reports the heap the returned layer holds: ReadLayer keeps every
// entry until the layer is stored, so this grows with the file count.
func BenchmarkReadLayerManyFiles(b *testing.B) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	const files = 200_000
	for i := range files {
		body := fmt.Appendf(nil, "module.exports = %d\n", i)
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("app/node_modules/pkg%04d/lib/sub%02d/file%06d.js", i%5000, i%37, i), Mode: 0o644, Size: int64(len(body))})
		tw.Write(body)
	}
	tw.Close()
	blob := buf.Bytes()
	b.SetBytes(int64(len(blob)))
	var heap float64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		l, err := ReadLayer(context.Background(), bytes.NewReader(blob), LayerInput{Digest: "sha256:x"}, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc-before.HeapAlloc) / 1e6
		runtime.KeepAlive(l)
		b.StartTimer()
	}
	b.ReportMetric(heap, "heap-MB-held")
	b.ReportMetric(heap*1e6/files, "heap-B/entry")
}
