package worker

import (
	"bytes"
	"encoding/gob"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
)

// What the queue's items hold, gob-encoded: gob keeps strings as the bytes
// they are (JSON would replace what is not UTF-8), and the empty-but-set
// fields of an image, which gob decodes as nil, are listed by name.

// layerItem is a layer to read, with the image that planned it first (its
// errors name that image).
type layerItem struct {
	Work crawl.LayerWork
	Ref  string
}

// layerResult is what a worker did of a layer item.
type layerResult struct {
	Read                         bool // false: it was indexed already
	Entries, Bytes, Uncompressed int64
}

// imageItem is an image to store once its layers are done.
type imageItem struct {
	Repo        auditor.Repo
	Ref         string
	IndexDigest string
	Image       *auditor.Image
	Empty       []string // the fields of Image set but empty (not nil)
}

func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func decode(b []byte, v any) error { return gob.NewDecoder(bytes.NewReader(b)).Decode(v) }

// emptyFields are the fields of an image whose nil and empty values are
// stored differently (null or [] in the config columns).
func emptyFields(img *auditor.Image) map[string]*[]string {
	m := map[string]*[]string{
		"entrypoint": &img.Entrypoint, "cmd": &img.Cmd, "env": &img.Env, "onbuild": &img.OnBuild, "shell": &img.Shell,
	}
	if img.Healthcheck != nil {
		m["healthcheck.test"] = &img.Healthcheck.Test
	}
	return m
}

func newImageItem(p crawl.ImagePlan) imageItem {
	it := imageItem{Repo: p.Repo, Ref: p.Ref, IndexDigest: p.IndexDigest, Image: p.Image}
	for name, f := range emptyFields(p.Image) {
		if *f != nil && len(*f) == 0 {
			it.Empty = append(it.Empty, name)
		}
	}
	if p.Image.Labels != nil && len(p.Image.Labels) == 0 {
		it.Empty = append(it.Empty, "labels")
	}
	return it
}

// restore gives back the empty-but-set fields gob decoded as nil.
func (it *imageItem) restore() {
	fields := emptyFields(it.Image)
	for _, name := range it.Empty {
		if f := fields[name]; f != nil {
			*f = []string{}
		}
		if name == "labels" {
			it.Image.Labels = map[string]string{}
		}
	}
}
