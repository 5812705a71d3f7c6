package index

import "time"

// EntryType is the kind of a tar entry.
type EntryType uint8

// Entry types, as stored (the files views show their names).
const (
	TypeFile EntryType = iota
	TypeDir
	TypeSymlink
	TypeHardlink
	TypeChar
	TypeBlock
	TypeFIFO
	TypeWhiteout // a .wh.NAME entry; Path is the path it deletes
	TypeOpaque   // a .wh..wh..opq entry; Path is the directory it makes opaque
	TypeOther
)

var typeNames = [...]string{"file", "dir", "symlink", "hardlink", "char", "block", "fifo", "whiteout", "opaque", "other"}

func (t EntryType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "other"
}

// ContentKind is a cheap classification of a regular file's first bytes.
type ContentKind uint8

// Content kinds, as stored; KindNone is for entries that are not regular
// files (stored as NULL).
const (
	KindOther ContentKind = iota
	KindELF
	KindScript
	KindEmpty
	KindNone ContentKind = 255
)

// Entry is one tar entry of a layer.
type Entry struct {
	Path         string // cleaned, absolute: "/usr/bin/ls"
	RawName      string // the name exactly as in the tar, when it differs from Path
	Type         EntryType
	Mode         int64 // permission bits with setuid, setgid and sticky (07777)
	UID, GID     int64
	Uname, Gname string
	Size         int64
	ModTime      time.Time
	SHA256       string // lowercase hex of the content; regular files and hardlinks to them
	Linkname     string
	Kind         ContentKind
	Capabilities string // decoded security.capability xattr, e.g. "cap_net_bind_service=ep"
}

// Layer is a layer blob and all its entries, in tar order.
type Layer struct {
	Digest           string // of the blob as stored in the registry
	DiffID           string // sha256 of the uncompressed tar
	MediaType        string
	Compression      string // gzip, zstd or none, detected from the bytes
	Size             int64  // compressed bytes
	UncompressedSize int64
	Entries          []Entry
	// Scans are the per-layer scanners that read the layer (the content
	// patterns' is ContentScanner, whose matches are ContentMatches).
	Scans          []LayerScan
	ContentMatches []ContentMatch
	ContentDropped []ContentDrop
	Configs        []ConfigFile // security-relevant configuration files (the config scanner's)
	Captures       []Capture
	Digests        []ContentDigests
}

// ContentMatch is a content pattern found in a regular file of a layer.
type ContentMatch struct {
	Seq       int    // index in Layer.Entries of the file
	PatternID string // e.g. "aws-access-key-id"
	Offset    int64  // byte offset of the match in the file
	Excerpt   string // redacted: never the whole secret
}

// ContentDrop counts the content matches found in a regular file of a
// layer and not recorded, over the caps.
type ContentDrop struct {
	Seq     int   // index in Layer.Entries of the file
	Dropped int64 // matches not recorded
}

// ContentDigests are more digests of a content (lowercase hex), for the
// package databases that record md5 (dpkg, old rpm) or sha1 (apk).
type ContentDigests struct {
	SHA256, MD5, SHA1 string
}

// Capture is the content of a regular file of a layer that a scanner kept
// (a package database file): stored once per content.
type Capture struct {
	Seq  int // index in Layer.Entries of the file
	Data []byte
}

// Platform is an image's os/architecture/variant.
type Platform struct {
	OS, Architecture, Variant, OSVersion string
}

func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// History is one entry of an image config's history.
type History struct {
	Created    time.Time
	CreatedBy  string
	Comment    string
	Author     string
	EmptyLayer bool
}

// Healthcheck is an image config's healthcheck, stored as JSON with the
// config's field names (durations in nanoseconds).
type Healthcheck struct {
	Test        []string      `json:"Test,omitempty"`
	Interval    time.Duration `json:"Interval,omitempty"`
	Timeout     time.Duration `json:"Timeout,omitempty"`
	StartPeriod time.Duration `json:"StartPeriod,omitempty"`
	Retries     int           `json:"Retries,omitempty"`
}

// Image is a platform manifest and what its config blob says.
type Image struct {
	Digest       string
	MediaType    string
	Size         int64
	ConfigDigest string
	Platform     Platform
	Created      time.Time
	User         string
	WorkingDir   string
	Entrypoint   []string
	Cmd          []string
	Env          []string
	Labels       map[string]string
	ExposedPorts []string
	Volumes      []string
	StopSignal   string
	Healthcheck  *Healthcheck // nil: the config sets none
	OnBuild      []string
	Shell        []string
	History      []History
	Layers       []string // layer digests, bottom first; all must be indexed
	// LayerMediaTypes are the layers' media types as this image's manifest
	// gives them (same order as Layers; may be shorter).
	LayerMediaTypes []string
}

// IndexChild is one manifest listed by an image index.
type IndexChild struct {
	Digest    string
	MediaType string
	Platform  Platform
}

// ImageIndex is an image index or Docker manifest list.
type ImageIndex struct {
	Digest    string
	MediaType string
	Size      int64
	Children  []IndexChild
}

// Repo names a repository in a registry.
type Repo struct {
	Registry string // host[:port]
	Name     string // e.g. "library/debian"
}

func (r Repo) String() string { return r.Registry + "/" + r.Name }

// ScanError is one failure a scan met and carried on past.
type ScanError struct {
	Registry    string
	Repository  string
	Reference   string // tag or digest
	LayerDigest string
	Message     string
}

// ScanStats are the counts a scan reports in its summary and scans row.
type ScanStats struct {
	Repositories  int64
	Tags          int64
	Images        int64
	LayersRead    int64
	LayersSkipped int64
	Files         int64
	BytesRead     int64 // compressed bytes read from the registry
	Errors        int64
}
