package auditor

import (
	"encoding/json"
	"fmt"
	"sort"
)

// ConfigJSON is what an image config's lists and maps are in the index (the
// manifests columns behind the images view): each one JSON text, or nil
// where the config has none. Ports and volumes are sorted, so that the same
// config reads the same whatever order its JSON object had.
type ConfigJSON struct {
	Entrypoint, Cmd, Env, Labels, ExposedPorts, Volumes, Healthcheck, OnBuild, Shell *string
}

// ConfigJSON encodes img's config fields as every store keeps them.
func (img *Image) ConfigJSON() (ConfigJSON, error) {
	ports := append([]string(nil), img.ExposedPorts...)
	sort.Strings(ports)
	vols := append([]string(nil), img.Volumes...)
	sort.Strings(vols)
	var c ConfigJSON
	for _, f := range []struct {
		dst   **string
		v     any
		empty bool
	}{
		{&c.Entrypoint, img.Entrypoint, img.Entrypoint == nil},
		{&c.Cmd, img.Cmd, img.Cmd == nil},
		{&c.Env, img.Env, img.Env == nil},
		{&c.Labels, img.Labels, img.Labels == nil},
		{&c.ExposedPorts, ports, len(ports) == 0},
		{&c.Volumes, vols, len(vols) == 0},
		{&c.Healthcheck, img.Healthcheck, img.Healthcheck == nil},
		{&c.OnBuild, img.OnBuild, img.OnBuild == nil},
		{&c.Shell, img.Shell, img.Shell == nil},
	} {
		if f.empty {
			continue
		}
		b, err := json.Marshal(f.v)
		if err != nil {
			return ConfigJSON{}, fmt.Errorf("image %s: config: %w", img.Digest, err)
		}
		s := string(b)
		*f.dst = &s
	}
	return c, nil
}
