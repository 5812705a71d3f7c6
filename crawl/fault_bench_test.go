package crawl_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/internal/faultproxy"
	"github.com/auditor-dev/auditor/internal/fleettest"
)

// faultMix is a fault rate spread over every fault the proxy has, as the
// fault test does.
func faultMix(rate float64) []faultproxy.Rule {
	if rate == 0 {
		return nil
	}
	return []faultproxy.Rule{
		{Fault: faultproxy.Status500, Rate: rate / 4},
		{Fault: faultproxy.Status503, Rate: rate / 4},
		{Fault: faultproxy.RetryAfterSeconds, Rate: rate / 20, RetryAfter: time.Second},
		{Kind: faultproxy.Blob, Fault: faultproxy.ResetMidBody, Rate: rate / 4},
		{Kind: faultproxy.Blob, Fault: faultproxy.TruncateBody, Rate: rate / 4},
		{Kind: faultproxy.Manifest, Fault: faultproxy.TruncateBody, Rate: rate / 4},
		{Kind: faultproxy.Blob, Fault: faultproxy.StallBody, Rate: rate / 10},
	}
}

// BenchmarkScanThroughFaults scans the whole fleet through the fault proxy,
// clean and at two fault rates, with the default retry schedule but a
// 100ms first backoff and a 1s stall timeout: compare the sub-benchmarks'
// ns/op as ratios to faults=0%. Every scan must index everything.
func BenchmarkScanThroughFaults(b *testing.B) {
	for _, rate := range []float64{0, 0.05, 0.15} {
		b.Run(fmt.Sprintf("faults=%.0f%%", rate*100), func(b *testing.B) {
			p := startProxy(b, 3)
			p.SetRules(faultMix(rate)...)
			opts := crawl.Options{Retry: crawl.Retry{Backoff: 100 * time.Millisecond, StallTimeout: time.Second}}
			requests := 0
			for i := 0; b.Loop(); i++ {
				p.ResetEvents()
				db := filepath.Join(b.TempDir(), fmt.Sprintf("i%d.db", i))
				if err := fleettest.Scan(context.Background(), db, opts, p.Addr()); err != nil {
					b.Fatal(err)
				}
				requests += len(p.Events())
			}
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
		})
	}
}
