package scanners

import (
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
)

// matchSink keeps the content matches a scan records.
type matchSink struct{ ms []auditor.ContentMatch }

func (s *matchSink) AddMatch(m auditor.ContentMatch)   { s.ms = append(s.ms, m) }
func (s *matchSink) AddDropped(auditor.ContentDrop)    {}
func (s *matchSink) AddConfig(auditor.ConfigFile)      {}
func (s *matchSink) AddCapture(int, []byte)            {}
func (s *matchSink) AddDigests(auditor.ContentDigests) {}

// TestHeadPatterns: a file too large to be matched whole has its first
// HeadSize bytes matched against the patterns with head = true only; a
// file matched whole is not asked for its head; without head patterns no
// head is asked for; and head changes the matcher's version.
func TestHeadPatterns(t *testing.T) {
	ps := []Pattern{
		{ID: "mark", Regex: `MARK!`, Literals: []string{"MARK!"}, Head: true},
		{ID: "word", Regex: `secretword`, Literals: []string{"secretword"}},
	}
	m, err := NewMatcher(ps, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sink := &matchSink{}
	scan := m.NewScan(sink).(crawl.HeadScan)
	if n := scan.WantsHead("/small", 1000); n != 0 || !scan.Wants("/small", 1000) {
		t.Fatalf("a file of max_file_size: head %d, whole %v; want it whole only", n, scan.Wants("/small", 1000))
	}
	if n := scan.WantsHead("/big", 1001); n != HeadSize || scan.Wants("/big", 1001) {
		t.Fatalf("a larger file: head %d, whole %v; want its first %d bytes only", n, scan.Wants("/big", 1001), HeadSize)
	}
	if err := scan.Head(3, "/big", []byte("xx MARK! secretword")); err != nil {
		t.Fatal(err)
	}
	if len(sink.ms) != 1 || sink.ms[0].PatternID != "mark" || sink.ms[0].Seq != 3 || sink.ms[0].Offset != 3 {
		t.Fatalf("head matches %+v, want mark at offset 3 of entry 3 only", sink.ms)
	}

	ps[0].Head = false
	whole, err := NewMatcher(ps, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if n := whole.NewScan(sink).(crawl.HeadScan).WantsHead("/big", 1<<30); n != 0 {
		t.Fatalf("no head patterns: head %d asked for", n)
	}
	if whole.Version() == m.Version() {
		t.Fatal("head = true does not change the matcher's version: layers would not be matched again")
	}
}
