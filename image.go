package auditor

import "time"

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

// ManifestState reports what an index holds of a manifest digest.
type ManifestState struct {
	Indexed  bool         // an image manifest fully indexed, or an index whose children were stored
	IsIndex  bool         // it is an image index / manifest list
	Children []IndexChild // for an index: the manifests it lists
	// Artifact is the reason a manifest stored as not an image is not
	// one; "" otherwise.
	Artifact string
}

// Repo names a repository in a registry.
type Repo struct {
	Registry string // host[:port]
	Name     string // e.g. "library/debian"
}

func (r Repo) String() string { return r.Registry + "/" + r.Name }
