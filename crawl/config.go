package crawl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultMaxConfigSize bounds an image's config blob when
// Limits.MaxConfigSize is 0. Real configs are a few KiB (a long history or
// many labels: a few hundred); the config is held in memory whole.
const DefaultMaxConfigSize = 16 << 20

// ErrConfigLimit is wrapped by errors for a config blob larger than
// Limits.MaxConfigSize.
var ErrConfigLimit = errors.New("config exceeds limit")

func (l Limits) configSize() int64 {
	if l.MaxConfigSize <= 0 {
		return DefaultMaxConfigSize
	}
	return l.MaxConfigSize
}

// readCapped reads r whole, failing with ErrConfigLimit past limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than max_config_bytes %d", ErrConfigLimit, limit)
	}
	return b, nil
}

// readConfig reads and parses the config blob d names through open, on
// every source the same way: refused before any byte is read when d says
// it is over max_config_bytes, cut off there when it lies, and checked
// against d's size and digest.
func (c *Crawler) readConfig(ctx context.Context, d v1.Descriptor, open func(context.Context, v1.Hash) (io.ReadCloser, error)) (*v1.ConfigFile, error) {
	limit := c.opts.Limits.configSize()
	if d.Size > limit {
		return nil, fmt.Errorf("%w: %d bytes, more than max_config_bytes %d", ErrConfigLimit, d.Size, limit)
	}
	if c.opts.Plan == nil {
		return c.readConfigBlob(ctx, d, limit, open)
	}
	// A planning crawl reads each config blob once, however many
	// manifests share it (an OCI and a Docker manifest of one image).
	key := d.Digest.String()
	v, err, _ := c.planSF.Do("config "+key, func() (any, error) {
		c.mu.Lock()
		cf := c.configs[key]
		c.mu.Unlock()
		if cf != nil {
			return cf, nil
		}
		cf, err := c.readConfigBlob(ctx, d, limit, open)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.configs == nil {
			c.configs = map[string]*v1.ConfigFile{}
		}
		c.configs[key] = cf
		c.mu.Unlock()
		return cf, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*v1.ConfigFile), nil
}

// readConfigBlob reads and parses a config blob (see readConfig).
func (c *Crawler) readConfigBlob(ctx context.Context, d v1.Descriptor, limit int64, open func(context.Context, v1.Hash) (io.ReadCloser, error)) (*v1.ConfigFile, error) {
	rc, err := open(ctx, d.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := readCapped(rc, limit)
	if err != nil {
		return nil, err
	}
	if d.Size > 0 && int64(len(b)) != d.Size {
		return nil, fmt.Errorf("%w: blob is %d bytes, the manifest says %d", ErrDigestMismatch, len(b), d.Size)
	}
	if d.Digest.Algorithm == "sha256" {
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != d.Digest.Hex {
			return nil, fmt.Errorf("%w: blob hashes to sha256:%s", ErrDigestMismatch, got)
		}
	}
	return v1.ParseConfigFile(bytes.NewReader(b))
}
