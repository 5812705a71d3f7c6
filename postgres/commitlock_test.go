package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/internal/pgtest"
	"github.com/auditor-dev/auditor/postgres"
)

// TestConcurrentLayersShareContents: layers committed at once (a scan's
// jobs, several workers) whose files share contents, each with its md5
// and sha1 and configuration files, in different orders: every layer is
// stored, none deadlocked (they were, SQLSTATE 40P01, when each wrote the
// shared rows in its own order).
func TestConcurrentLayersShareContents(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const files, layers = 1500, 6
	sum := func(i int) string { return fmt.Sprintf("%064x", i+1) }
	var wg sync.WaitGroup
	errs := make(chan error, layers)
	for l := range layers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(l), 7))
			order := r.Perm(files)
			layer := &auditor.Layer{Digest: "sha256:" + strings.Repeat(string(rune('a'+l%6)), 63) + fmt.Sprint(l%10), Compression: "none"}
			for seq, i := range order {
				layer.Entries = append(layer.Entries, auditor.Entry{Path: fmt.Sprintf("/etc/f%d", i), Type: auditor.TypeFile, Mode: 0o644, Size: 10, SHA256: sum(i), Kind: auditor.KindOther})
				layer.Digests = append(layer.Digests, auditor.ContentDigests{SHA256: sum(i), MD5: strings.Repeat("d", 32), SHA1: strings.Repeat("e", 40)})
				if i%100 != 0 {
					continue
				}
				layer.Configs = append(layer.Configs, auditor.ConfigFile{Seq: seq, Kind: "passwd", Version: "1", Lines: []string{"root:x:0:0::/root:/bin/sh"},
					Rows: []auditor.ConfigRow{{Type: "account", Line: 1, A: "root"}}, Data: []byte("root:x:0:0::/root:/bin/sh\n")})
				layer.Captures = append(layer.Captures, auditor.Capture{Seq: seq, Data: []byte(fmt.Sprint("content ", i))})
			}
			layer.Scans = []auditor.LayerScan{{Scanner: auditor.ConfigScanner, Version: "2"}}
			if err := db.PutLayer(ctx, layer); err != nil {
				errs <- fmt.Errorf("layer %d: %w", l, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
