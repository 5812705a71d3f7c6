package fleettest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushRandom pushes a random image with the given number of layers to a new
// repository test/PREFIX-<random> of the fleet registry (tag v1), and returns
// its tag reference and the image.
func PushRandom(tb testing.TB, prefix string, layers int64) (name.Tag, v1.Image) {
	tb.Helper()
	img, err := random.Image(2048, layers)
	if err != nil {
		tb.Fatal(err)
	}
	return Push(tb, prefix, img), img
}

// Push pushes img to a new repository test/PREFIX-<random> of the fleet
// registry, tag v1.
func Push(tb testing.TB, prefix string, img v1.Image) name.Tag {
	tb.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	ref, err := name.NewTag(Registry(tb) + "/test/" + prefix + "-" + hex.EncodeToString(b) + ":v1")
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		tb.Fatal(err)
	}
	return ref
}

// CorruptBlob flips bytes in the middle of a blob in the registry's storage
// (same size, wrong content). Only corrupt blobs of images you pushed.
func CorruptBlob(tb testing.TB, d v1.Hash) {
	tb.Helper()
	blob := filepath.Join(StorageDir(tb), "blobs", d.Algorithm, d.Hex[:2], d.Hex, "data")
	data, err := os.ReadFile(blob)
	if err != nil {
		tb.Fatal(err)
	}
	for i := len(data) / 2; i < len(data)/2+64 && i < len(data); i++ {
		data[i] ^= 0x5a
	}
	if err := os.WriteFile(blob, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}
