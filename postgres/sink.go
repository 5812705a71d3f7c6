package postgres

import "github.com/auditor-dev/auditor/crawl"

// The PostgreSQL index is a crawl sink: the crawler writes through these
// roles.
var (
	_ crawl.Sink          = (*DB)(nil)
	_ crawl.ScannerSetter = (*DB)(nil)
	_ crawl.LayerStore    = (*DB)(nil)
	_ crawl.ManifestStore = (*DB)(nil)
	_ crawl.TagStore      = (*DB)(nil)
	_ crawl.LayerWriter   = (*LayerWriter)(nil)
)

// The PostgreSQL index keeps the politeness the workers of a shared scan
// share (queue.go).
var _ crawl.Politeness = (*DB)(nil)
