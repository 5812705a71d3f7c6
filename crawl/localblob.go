package crawl

import (
	"fmt"
	"io"
	"io/fs"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// OpenLocalLayer opens the blob of a layer of a local input, as scan read
// it: from an OCI layout (a directory, or a tar of one) by its digest, or
// from a docker save tarball by its diff_id (digest, or diffID when the
// index knows the layer under another digest: one already indexed from a
// registry). The caller checks what it reads against the index.
func OpenLocalLayer(source, p, digest, diffID string) (io.ReadCloser, error) {
	src := &localSource{kind: source, maxManifest: DefaultMaxManifestSize}
	var archive io.Closer
	switch source {
	case SourceOCI:
		src.fsys = os.DirFS(p)
	case SourceOCIArchive, SourceDockerArchive:
		tfs, err := openTarFS(p)
		if err != nil {
			return nil, err
		}
		src.fsys, archive = tfs, tfs
	default:
		return nil, fmt.Errorf("unknown local source %q", source)
	}
	name, err := src.layerFile(digest, diffID)
	var f fs.File
	if err == nil {
		f, err = src.fsys.Open(name)
	}
	if err != nil {
		if archive != nil {
			archive.Close()
		}
		return nil, fmt.Errorf("layer %s in %s:%s: %w", digest, source, p, err)
	}
	return &localBlob{File: f, archive: archive}, nil
}

// layerFile names the file in s that holds a layer.
func (s *localSource) layerFile(digest, diffID string) (string, error) {
	if s.kind != SourceDockerArchive {
		h, err := v1.NewHash(digest)
		if err != nil {
			return "", err
		}
		return blobPath(h), nil
	}
	m, err := s.dockerManifest()
	if err != nil {
		return "", err
	}
	for _, d := range m {
		ds, _, err := s.dockerImage(d, DefaultMaxConfigSize)
		if err != nil {
			continue
		}
		for _, l := range ds.m.Layers {
			if id := l.Digest.String(); id == digest || id == diffID {
				return ds.files[l.Digest], nil
			}
		}
	}
	return "", fmt.Errorf("no layer with diff_id %s in the archive (has it changed since the scan?)", diffID)
}

// localBlob is a layer file that closes its archive with it.
type localBlob struct {
	fs.File
	archive io.Closer
}

func (b *localBlob) Close() error {
	err := b.File.Close()
	if b.archive != nil {
		if cerr := b.archive.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
