package auditor

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

// ContentScanner is the name of the content patterns' scanner: the content
// matches of a layer (ContentMatch) belong to it.
const ContentScanner = "content"

// ConfigScanner is the name of the security-configuration scanner: the
// configuration files of a layer (ConfigFile) belong to it.
const ConfigScanner = "config"

// ScannerVersion names a per-layer scanner at one version.
type ScannerVersion struct {
	Name, Version string
}

// LayerScan records that a scanner read a layer: its name and version, and
// its failure on the layer ("" when it had none). A failed scan counts as
// done: the layer is read again for that scanner only at another version.
type LayerScan struct {
	Scanner string
	Version string
	Error   string
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

// ConfigFile is a security-relevant configuration file of a layer as the
// config scanner read it: its kind (passwd, sshd_config, cron, ...), its
// lines and the structured rows of its format. Lines and rows are stored
// once per content and kind; Error says why a file was not read (too
// large), and it then has no lines.
type ConfigFile struct {
	Seq     int    // index in the layer's entries, tar order
	Kind    string // secconf.Kind
	Version string // of the parser that made Lines and Rows
	Error   string
	Lines   []string // line N is Lines[N-1]
	Rows    []ConfigRow
	Data    []byte // the file's bytes, kept (compressed, once per content) so cat serves them from the index
}

// ConfigRow is one structured row of a configuration file: Type names the
// row kind (account, shadow, group, sudo, sudo-include, ssh, pam, cron,
// unit, host, source) and the views name its fields.
type ConfigRow struct {
	Type             string
	Line             int
	A, B, C, D, E, F string
	N1, N2           int64
}
