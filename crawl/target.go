package crawl

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/auditor-dev/auditor/internal/localref"
)

// Target is what a scan covers: a whole registry, one repository (all its
// tags), or one tag or digest; or a local image file or directory.
type Target struct {
	// Source is "" for a registry, or the kind of local input:
	// "docker-archive" (a docker save tarball), "oci" (an OCI image layout
	// directory) or "oci-archive" (a tar of one).
	Source string
	// Path is the local file or directory, for a local Source.
	Path string

	// PlainHTTP is set by an http:// prefix: the registry may be spoken to
	// in plain HTTP, as with insecure = true in its settings.
	PlainHTTP bool

	Registry   string // host[:port]
	Repository string // "" for the whole registry
	Tag        string // "" for all tags (or when Digest is set)
	Digest     string // "sha256:..." for one manifest
}

func (t Target) String() string {
	if t.Source != "" {
		if t.Tag != "" {
			return t.Source + ":" + t.Path + ":" + t.Tag
		}
		return t.Source + ":" + t.Path
	}
	s := t.Registry
	if t.PlainHTTP {
		s = "http://" + s
	}
	if t.Repository != "" {
		s += "/" + t.Repository
	}
	if t.Digest != "" {
		return s + "@" + t.Digest
	}
	if t.Tag != "" {
		return s + ":" + t.Tag
	}
	return s
}

// Local sources, as target prefixes.
const (
	SourceDockerArchive = localref.DockerArchive
	SourceOCI           = localref.OCI
	SourceOCIArchive    = localref.OCIArchive
)

// ParseTarget parses "host[:port]", "host[:port]/repo", "host/repo:tag" or
// "host/repo@sha256:..."; or a local input: "docker-archive:PATH",
// "oci:DIR[:REF]", "oci-archive:PATH[:REF]". A bare host must contain a dot
// or a port, or be "localhost", so that "nginx" is not taken for a registry.
func ParseTarget(s string) (Target, error) {
	if s == "" {
		return Target{}, fmt.Errorf("empty target")
	}
	if src, path, ref, ok := localref.Parse(s); ok && !strings.HasPrefix(s, src+"//") {
		if path == "" {
			return Target{}, fmt.Errorf("target %q: give a path, as in %s:PATH", s, src)
		}
		return Target{Source: src, Path: path, Tag: ref}, nil
	}
	plain := false
	if rest, ok := strings.CutPrefix(s, "http://"); ok {
		s, plain = rest, true
	} else if rest, ok := strings.CutPrefix(s, "https://"); ok {
		s = rest
	}
	host, rest, hasRepo := strings.Cut(s, "/")
	if prefix, ok := transportPrefix(s); ok {
		return Target{}, fmt.Errorf("target %q: unknown transport %q: want a registry (host[:port][/repo[:tag]], optionally after http:// or https://), docker-archive:PATH, oci:DIR[:REF] or oci-archive:PATH[:REF]", s, prefix+":")
	}
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return Target{}, fmt.Errorf("target %q: name a registry host first, e.g. registry.example.com/%s", s, s)
	}
	if _, err := name.NewRegistry(host, name.StrictValidation); err != nil {
		return Target{}, fmt.Errorf("target %q: %w", s, err)
	}
	t := Target{Registry: host, PlainHTTP: plain}
	if !hasRepo || rest == "" {
		return t, nil
	}
	repo := rest
	if r, d, ok := strings.Cut(rest, "@"); ok {
		repo, t.Digest = r, d
		if _, err := name.NewDigest(host+"/"+r+"@"+d, name.StrictValidation); err != nil {
			return Target{}, fmt.Errorf("target %q: %w", s, err)
		}
	} else if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		repo, t.Tag = rest[:i], rest[i+1:]
		if _, err := name.NewTag(host+"/"+rest, name.StrictValidation); err != nil {
			return Target{}, fmt.Errorf("target %q: %w", s, err)
		}
	}
	if _, err := name.NewRepository(host+"/"+repo, name.StrictValidation); err != nil {
		return Target{}, fmt.Errorf("target %q: %w", s, err)
	}
	t.Repository = repo
	return t, nil
}

// transportPrefix returns the TRANSPORT: of a skopeo-style reference that
// is none of the local inputs above ("docker://", "dir:/path",
// "containers-storage:img"), which must not be taken for a host name.
func transportPrefix(s string) (string, bool) {
	host, _, _ := strings.Cut(s, "/")
	prefix, after, ok := strings.Cut(host, ":")
	if !ok || isPort(after) {
		return "", false
	}
	switch prefix {
	case "docker", "docker-daemon", "containers-storage", "dir", "ostree", "sif", "http", "https":
		return prefix + ":", true
	}
	rest := strings.TrimPrefix(s, prefix+":")
	if strings.HasPrefix(rest, "/") || rest == "" {
		return prefix + ":", true // an absolute path or URL after a scheme
	}
	return "", false
}

// isPort reports whether s is a port number (the part of host:port after the
// colon).
func isPort(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
