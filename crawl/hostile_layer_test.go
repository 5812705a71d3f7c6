package crawl_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/crawl"
)

// corpusLimits are the caps the corpus is read with: low enough that the
// bombs hit them in a fraction of a second.
var corpusLimits = crawl.Limits{MaxEntries: 100_000, MaxUncompressedSize: 256 << 20}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// TestHostileLayers reads every layer of the corpus: each gives a clear
// error or is indexed with what it holds recorded as data, in bounded time
// and memory.
func TestHostileLayers(t *testing.T) {
	for _, c := range hostileLayers(t) {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			l, err := crawl.ReadLayer(context.Background(), bytes.NewReader(c.blob), crawl.LayerInput{Digest: digestOf(c.blob), Verify: true}, corpusLimits)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if elapsed > 10*time.Second {
				t.Errorf("took %s", elapsed)
			}
			// Memory grows with entries, never with content: 100k entries at
			// most, and a gigabyte of gzip bomb streams through a buffer.
			// The race detector's shadow allocations make this bound
			// meaningless under -race; the caps' errors are checked below.
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 && !raceEnabled {
				t.Errorf("allocated %d MiB", grew>>20)
			}
			if c.wantErr != "" {
				if err == nil {
					t.Fatalf("no error, want one containing %q", c.wantErr)
				}
				if !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("error %q, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadLayer: %v", err)
			}
			got := map[string]string{}
			for _, e := range l.Entries {
				got[e.Path] = e.Type.String() + " " + e.RawName + " " + e.Linkname
			}
			c.check(t, got)
		})
	}
}

// TestSparseCancel: a sparse file served from a few bytes of blob is hashed
// as the zeros it reads as; a cancelled context stops that at once, and the
// default caps refuse a petabyte before any hashing.
func TestSparseCancel(t *testing.T) {
	blob := sparseTar("huge", 1<<50)
	in := crawl.LayerInput{Digest: digestOf(blob), Verify: true}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := crawl.ReadLayer(ctx, bytes.NewReader(blob), in, crawl.Limits{MaxUncompressedSize: 1 << 52})
		done <- err
	}()
	// Let the hashing start, then cancel: it must stop within moments
	// (without the check, hashing 1 PiB of zeros takes days).
	time.AfterFunc(50*time.Millisecond, cancel)
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ReadLayer after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadLayer still hashing 5 s after its context was cancelled")
	}

	start := time.Now()
	_, err := crawl.ReadLayer(context.Background(), bytes.NewReader(blob), in, crawl.Limits{})
	if !errors.Is(err, crawl.ErrLimit) || !strings.Contains(err.Error(), `"huge"`) {
		t.Fatalf("ReadLayer with the default caps: %v, want ErrLimit naming \"huge\"", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusing took %s", d)
	}
}
