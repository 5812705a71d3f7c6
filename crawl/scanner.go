package crawl

import (
	"fmt"
	"slices"

	"github.com/auditor-dev/auditor"
)

// LayerScanner is a versioned per-layer scanner: while a layer streams, it
// sees the whole content of the regular files it asks for (never extracted:
// they are held in memory one at a time), and hands what it finds to the
// layer's sink. The index records which scanner read each layer at which
// version: a layer read by a scanner's current version is not read again;
// a new scanner, or a new version of one, has each indexed layer read once
// more, for that scanner only (its entries are not written twice). Set
// scanners in Options.Scanners (LayerInput.Scanners for one layer).
type LayerScanner interface {
	// Name identifies the scanner in the index ("content" for the content
	// patterns: auditor.ContentScanner).
	Name() string
	// Version changes whenever what the scanner finds could (its code, its
	// settings, its patterns).
	Version() string
	// NewScan starts reading one layer; what the scan finds goes to out. It
	// is called from the goroutine reading the layer, possibly for several
	// layers at once.
	NewScan(out ScanSink) LayerScan
}

// LayerScan is one scanner reading one layer. Its methods are called from
// one goroutine, in tar order.
type LayerScan interface {
	// Wants reports whether the scan wants the whole content of the regular
	// file at path, of size bytes; File then gets it. A scan bounds the
	// sizes it takes: a file it wants but finds too large is its error
	// (returned by Done), not a reason to hold the file in memory.
	Wants(path string, size int64) bool
	// File gets the whole content of a file Wants wanted, seq its number
	// in the layer's tar order (from 0). It must not keep content (the
	// buffer is reused). An error ends the scan of this layer: it is
	// recorded as the scanner's failure on the layer (the layer's entries
	// are still read and indexed, and the other scanners go on).
	File(seq int, path string, content []byte) error
	// Done is called after the layer's last entry; an error is recorded
	// like one of File.
	Done() error
}

// DigestScan is a LayerScan that also wants the md5 and sha1 of regular
// files, whatever their size (package databases record them): the reader
// computes them with the sha256, as the file streams.
type DigestScan interface {
	LayerScan
	// WantsDigests reports whether the scan wants the digests of the
	// regular file at path, of size bytes.
	WantsDigests(path string, size int64) bool
	// KnownDigests reports whether the scan has the digests of the
	// content with this sha256 already (stored, or computed for an earlier
	// file): the reader may then skip computing them, and Digests is not
	// called for the file.
	KnownDigests(sha256 string) bool
	// Digests gets them, for the file numbered seq; an error is recorded
	// like one of File.
	Digests(seq int, path string, d auditor.ContentDigests) error
}

// HeadScan is a LayerScan that also reads the first bytes of the regular
// files it does not want whole (too large for it, say): the reader hands
// them over as the file streams, from its copy buffer, holding nothing more.
type HeadScan interface {
	LayerScan
	// WantsHead returns how many leading bytes of the regular file at
	// path, of size bytes, the scan wants (0: none); the reader gives at
	// most MaxHead.
	WantsHead(path string, size int64) int
	// Head gets them (fewer when the file is shorter), for the file
	// numbered seq; it must not keep head. An error is recorded like one
	// of File.
	Head(seq int, path string, head []byte) error
}

// MaxHead is the most leading bytes of a file a HeadScan gets.
const MaxHead = 256 << 10

// ScanSink receives what scans find in a layer. Every EntrySink (so every
// LayerWriter) is one.
type ScanSink interface {
	// AddMatch takes a content match in an entry added or being added,
	// numbered by its Seq from 0 in tar order.
	AddMatch(m auditor.ContentMatch)
	// AddDropped counts the content matches found in an entry and not
	// recorded (over the caps).
	AddDropped(d auditor.ContentDrop)
	// AddConfig takes a security-relevant configuration file of the layer
	// as read by the config scanner (auditor.ConfigScanner).
	AddConfig(f auditor.ConfigFile)
	// AddCapture keeps the content of the entry numbered seq (a package
	// database file, say), stored once per content; data is copied.
	AddCapture(seq int, data []byte)
	// AddDigests records more digests of a content.
	AddDigests(d auditor.ContentDigests)
}

// layerScans runs the scans of one layer.
type layerScans struct {
	scanners []LayerScanner
	scans    []LayerScan
	errs     []error
	want     []int // the scans that want the current file
	digest   []int // the scans that want its digests
	head     []int // the scans that want its first bytes
	headN    []int // how many each
	heads    bool  // some scan is a HeadScan
}

func startScans(scanners []LayerScanner, out ScanSink) *layerScans {
	ls := &layerScans{scanners: scanners, errs: make([]error, len(scanners))}
	for _, s := range scanners {
		sc := s.NewScan(out)
		ls.scans = append(ls.scans, sc)
		_, h := sc.(HeadScan)
		ls.heads = ls.heads || h
	}
	return ls
}

// wantsHead returns how many leading bytes of the regular file at path the
// scans not failed want (the most any wants, at most MaxHead), when none
// wants it whole.
func (ls *layerScans) wantsHead(path string, size int64) int {
	ls.head, ls.headN = ls.head[:0], ls.headN[:0]
	if !ls.heads {
		return 0
	}
	n := 0
	for i, s := range ls.scans {
		if hs, ok := s.(HeadScan); ok && ls.errs[i] == nil {
			if w := hs.WantsHead(path, size); w > 0 {
				ls.head, ls.headN = append(ls.head, i), append(ls.headN, min(w, MaxHead))
				n = max(n, w)
			}
		}
	}
	return min(n, MaxHead)
}

// giveHead hands the first bytes of the file wantsHead was last asked about
// to the scans that wanted them, each as many as it asked for.
func (ls *layerScans) giveHead(seq int, path string, head []byte) {
	for j, i := range ls.head {
		if err := ls.scans[i].(HeadScan).Head(seq, path, head[:min(len(head), ls.headN[j])]); err != nil && ls.errs[i] == nil {
			ls.errs[i] = fmt.Errorf("%q: %w", path, err)
		}
	}
}

// wants reports whether any scan not failed wants the regular file at path.
func (ls *layerScans) wants(path string, size int64) bool {
	ls.want = ls.want[:0]
	for i, s := range ls.scans {
		if ls.errs[i] == nil && s.Wants(path, size) {
			ls.want = append(ls.want, i)
		}
	}
	return len(ls.want) > 0
}

// wantsDigests reports whether any scan not failed wants the md5 and sha1
// of the regular file at path.
func (ls *layerScans) wantsDigests(path string, size int64) bool {
	ls.digest = ls.digest[:0]
	for i, s := range ls.scans {
		if ds, ok := s.(DigestScan); ok && ls.errs[i] == nil && ds.WantsDigests(path, size) {
			ls.digest = append(ls.digest, i)
		}
	}
	return len(ls.digest) > 0
}

// needDigests keeps, of the scans wantsDigests found, those that do not
// know the digests of the content with this sha256, and reports whether any
// is left.
func (ls *layerScans) needDigests(sha256 string) bool {
	ls.digest = slices.DeleteFunc(ls.digest, func(i int) bool { return ls.scans[i].(DigestScan).KnownDigests(sha256) })
	return len(ls.digest) > 0
}

// digests hands the digests of the file wantsDigests was last asked about
// to the scans that wanted them.
func (ls *layerScans) digests(seq int, path string, d auditor.ContentDigests) {
	for _, i := range ls.digest {
		if err := ls.scans[i].(DigestScan).Digests(seq, path, d); err != nil && ls.errs[i] == nil {
			ls.errs[i] = fmt.Errorf("%q: %w", path, err)
		}
	}
}

// file hands the content of the file wants was last asked about to the scans
// that wanted it.
func (ls *layerScans) file(seq int, path string, content []byte) {
	for _, i := range ls.want {
		if err := ls.scans[i].File(seq, path, content); err != nil {
			ls.errs[i] = fmt.Errorf("%q: %w", path, err)
		}
	}
}

// finish ends the scans and returns what the index records of them.
func (ls *layerScans) finish() []auditor.LayerScan {
	out := make([]auditor.LayerScan, len(ls.scans))
	for i, s := range ls.scans {
		if err := s.Done(); err != nil && ls.errs[i] == nil {
			ls.errs[i] = err
		}
		out[i] = auditor.LayerScan{Scanner: ls.scanners[i].Name(), Version: ls.scanners[i].Version()}
		if ls.errs[i] != nil {
			out[i].Error = ls.errs[i].Error()
		}
	}
	return out
}
