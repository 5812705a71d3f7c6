package crawl

import (
	"encoding/hex"
	"hash"
	"io"

	"github.com/auditor-dev/auditor/index"
)

// ContentMatcher looks for patterns (secrets, miner configurations) in the
// content of regular files while a layer streams. Set it in
// LayerInput.Content (Options.Content for a crawl); without one, file
// content is only hashed, never buffered.
type ContentMatcher interface {
	// Version identifies the patterns and settings; a layer matched with
	// another version is matched again on the next scan.
	Version() string
	// MaxSize is the largest file matched, in bytes; larger files are only
	// hashed.
	MaxSize() int64
	// Match returns what it finds in one file's whole content. It must not
	// keep content (the buffer is reused), and it is called from one
	// goroutine per layer, possibly for several layers at once.
	Match(path string, content []byte) []index.ContentMatch
}

// matchContent reads a whole regular file (size <= m.MaxSize()) into *buf,
// hashes and classifies it like hashContent, and matches it.
func matchContent(r io.Reader, h hash.Hash, buf *[]byte, size int64, m ContentMatcher, path string) (string, index.ContentKind, []index.ContentMatch, error) {
	if int64(cap(*buf)) < size {
		*buf = make([]byte, size)
	}
	b := (*buf)[:size]
	if _, err := io.ReadFull(r, b); err != nil {
		return "", 0, nil, err
	}
	h.Write(b)
	kind := sniff(b[:min(len(b), sniffSize)])
	var ms []index.ContentMatch
	if size > 0 {
		ms = m.Match(path, b)
	}
	return hex.EncodeToString(h.Sum(nil)), kind, ms, nil
}
