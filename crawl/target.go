package crawl

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Target is what a scan covers: a whole registry, one repository (all its
// tags), or one tag or digest.
type Target struct {
	Registry   string // host[:port]
	Repository string // "" for the whole registry
	Tag        string // "" for all tags (or when Digest is set)
	Digest     string // "sha256:..." for one manifest
}

func (t Target) String() string {
	s := t.Registry
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

// ParseTarget parses "host[:port]", "host[:port]/repo", "host/repo:tag" or
// "host/repo@sha256:...". A bare host must contain a dot or a port, or be
// "localhost", so that "nginx" is not taken for a registry.
func ParseTarget(s string) (Target, error) {
	if s == "" {
		return Target{}, fmt.Errorf("empty target")
	}
	host, rest, hasRepo := strings.Cut(s, "/")
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return Target{}, fmt.Errorf("target %q: name a registry host first, e.g. registry.example.com/%s", s, s)
	}
	if _, err := name.NewRegistry(host, name.StrictValidation); err != nil {
		return Target{}, fmt.Errorf("target %q: %w", s, err)
	}
	t := Target{Registry: host}
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
