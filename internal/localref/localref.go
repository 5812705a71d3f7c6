// Package localref parses the names of local image inputs, as scan takes
// them and as the query commands name their images: docker-archive:PATH,
// oci:DIR[:REF] and oci-archive:PATH[:REF] (skopeo's forms), and the form
// the index shows, SOURCE/ABSPATH[:REF] (oci//srv/layout:app:1), its
// pseudo-registry and repository.
package localref

import "strings"

// Sources, as name prefixes and as the pseudo-registries of the index.
const (
	DockerArchive = "docker-archive"
	OCI           = "oci"
	OCIArchive    = "oci-archive"
)

// IsSource reports whether registry is the pseudo-registry of local inputs.
func IsSource(registry string) bool {
	return registry == DockerArchive || registry == OCI || registry == OCIArchive
}

// Parse splits a local input's name into its source, path and ref name
// ("" for none); ok is false when s names no local input. The path of an
// oci or oci-archive name ends at the first colon, so a ref name may hold
// colons (busybox:1.35), as for skopeo; a docker-archive name is all path.
// The index's form (oci//srv/layout) gives an absolute path.
func Parse(s string) (source, path, ref string, ok bool) {
	for _, src := range []string{DockerArchive, OCIArchive, OCI} {
		rest, found := strings.CutPrefix(s, src+":")
		if !found {
			if rest, found = strings.CutPrefix(s, src+"//"); !found {
				continue
			}
			rest = "/" + rest
		}
		path = rest
		if src != DockerArchive {
			if p, r, cut := strings.Cut(rest, ":"); cut && p != "" {
				path, ref = p, r
			}
		}
		return src, path, ref, true
	}
	return "", "", "", false
}
