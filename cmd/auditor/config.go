package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/rules"
	"github.com/auditor-dev/auditor/scanners"
	"github.com/auditor-dev/auditor/secconf"
)

// Config is config.toml. Every key is documented in the repository's
// config.toml; unknown keys are an error.
type Config struct {
	DB         string                    `toml:"db"`
	Jobs       int                       `toml:"jobs"`
	Platforms  []string                  `toml:"platforms"`
	Targets    []string                  `toml:"targets"`
	Limits     LimitsConfig              `toml:"limits"`
	Retry      RetryConfig               `toml:"retry"`
	Registries map[string]RegistryConfig `toml:"registries"`
	SQL        SQLConfig                 `toml:"sql"`
	Rules      RulesConfig               `toml:"rules"`   // see rules_config.go
	Content    ContentConfig             `toml:"content"` // see rules_config.go
	Packages   PackagesConfig            `toml:"packages"`
	Files      ConfigFilesConfig         `toml:"config_files"`
	Report     ReportConfig              `toml:"report"` // see nightly.go

	// path is the file the config was read from ("" for the defaults), for
	// errors found after loading (an unset credential variable).
	path string
}

// LimitsConfig bounds what one layer may cost.
type LimitsConfig struct {
	MaxEntriesPerLayer int64 `toml:"max_entries_per_layer"`
	MaxLayerBytes      int64 `toml:"max_layer_bytes"`
	MaxManifestBytes   int64 `toml:"max_manifest_bytes"`
	MaxIndexDepth      int   `toml:"max_index_depth"`
	MaxListPages       int   `toml:"max_list_pages"`
	MaxConfigBytes     int64 `toml:"max_config_bytes"`
	MaxTagManifests    int   `toml:"max_manifests_per_tag"`
}

// SQLConfig bounds ad hoc SQL (auditor sql) and, for memory, every query
// and rule of the process.
type SQLConfig struct {
	// Timeout stops one `auditor sql` query after this long; 0: never.
	Timeout time.Duration `toml:"timeout"`
	// MaxMemory bounds the memory SQLite holds in the process, bytes; the
	// statement that needs more fails. Queries and rules keep their
	// temporary tables and sorts in memory, so it bounds those too. 0: none.
	MaxMemory int64 `toml:"max_memory"`
}

// The defaults of [sql] and [rules] timeout.
const (
	defaultSQLTimeout  = 10 * time.Minute
	defaultRuleTimeout = 10 * time.Minute
	defaultMaxMemory   = 2 << 30
)

// RetryConfig says how a flaky registry is treated (see crawl.Retry).
type RetryConfig struct {
	Attempts      int           `toml:"attempts"`
	Backoff       time.Duration `toml:"backoff"`
	MaxRetryAfter time.Duration `toml:"max_retry_after"`
	StallTimeout  time.Duration `toml:"stall_timeout"`
	BreakAfter    int           `toml:"break_after"`
	Cooldown      time.Duration `toml:"cooldown"`
}

// RegistryConfig holds one registry's settings. Secrets are never in the
// file: it names the environment variables that hold them.
type RegistryConfig struct {
	Insecure     bool     `toml:"insecure"`
	CAFile       string   `toml:"ca_file"`
	UsernameEnv  string   `toml:"username_env"`
	PasswordEnv  string   `toml:"password_env"`
	TokenEnv     string   `toml:"token_env"`
	Jobs         int      `toml:"jobs"`
	Repositories []string `toml:"repositories"`
	Include      []string `toml:"include"`
	Exclude      []string `toml:"exclude"`
	Platforms    []string `toml:"platforms"`
	// MaxRequests bounds the requests in flight to the registry; 0: none.
	MaxRequests int `toml:"max_requests"`
	// RequestsPerSecond bounds the request rate; 0: none.
	RequestsPerSecond float64 `toml:"requests_per_second"`
}

// DefaultConfig is the configuration without a file.
func DefaultConfig() Config {
	return Config{
		DB: "auditor.db",
		Limits: LimitsConfig{
			MaxEntriesPerLayer: crawl.DefaultMaxEntries,
			MaxLayerBytes:      crawl.DefaultMaxUncompressedSize,
			MaxManifestBytes:   crawl.DefaultMaxManifestSize,
			MaxIndexDepth:      crawl.DefaultMaxIndexDepth,
			MaxListPages:       crawl.DefaultMaxListPages,
			MaxConfigBytes:     crawl.DefaultMaxConfigSize,
			MaxTagManifests:    crawl.DefaultMaxTagManifests,
		},
		Retry: RetryConfig{
			Attempts: crawl.DefaultAttempts, Backoff: crawl.DefaultBackoff, MaxRetryAfter: crawl.DefaultMaxRetryAfter,
			StallTimeout: crawl.DefaultStallTimeout, BreakAfter: crawl.DefaultBreakAfter, Cooldown: crawl.DefaultCooldown,
		},
		SQL:      SQLConfig{Timeout: defaultSQLTimeout, MaxMemory: defaultMaxMemory},
		Rules:    defaultRulesConfig(),
		Content:  defaultContentConfig(),
		Packages: PackagesConfig{Enabled: true, MaxFileSize: scanners.DefaultMaxDatabaseFile, Digests: true},
		Report:   ReportConfig{Keep: defaultReportKeep},
	}
}

// LoadConfig decodes path over DefaultConfig. A missing file is an error only
// when required (the user named it).
func LoadConfig(path string, required bool) (Config, error) {
	cfg := DefaultConfig()
	md, err := toml.DecodeFile(path, &cfg)
	if err != nil {
		if !required && errors.Is(err, fs.ErrNotExist) {
			return DefaultConfig(), nil
		}
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return cfg, fmt.Errorf("config %s: unknown key %s", path, strings.Join(keys, ", "))
	}
	if cfg.Jobs < 0 {
		return cfg, fmt.Errorf("config %s: jobs must be 0 (the default) or more, got %d", path, cfg.Jobs)
	}
	if cfg.SQL.Timeout < 0 || cfg.Rules.Timeout < 0 || cfg.SQL.MaxMemory < 0 {
		return cfg, fmt.Errorf("config %s: sql.timeout, sql.max_memory and rules.timeout must be 0 (no limit) or more", path)
	}
	// Found now, before any scan: a bad suppression or report setting.
	if err := rules.CheckSuppressions(cfg.Rules.Suppress); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.Report.check(); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if _, err := cfg.ConfigScanner(); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.resolvePaths(md, filepath.Dir(path))
	cfg.path = path
	return cfg, nil
}

// CrawlOptions turns the configuration into crawler options, reading
// credentials from the environment variables it names.
func (c Config) CrawlOptions() (crawl.Options, error) {
	opts := crawl.Options{
		Jobs:       c.Jobs,
		Platforms:  c.Platforms,
		Registries: map[string]crawl.Registry{},
		Limits: crawl.Limits{MaxEntries: c.Limits.MaxEntriesPerLayer, MaxUncompressedSize: c.Limits.MaxLayerBytes,
			MaxManifestSize: c.Limits.MaxManifestBytes, MaxIndexDepth: c.Limits.MaxIndexDepth,
			MaxListPages: c.Limits.MaxListPages, MaxConfigSize: c.Limits.MaxConfigBytes,
			MaxTagManifests: c.Limits.MaxTagManifests},
		Retry: crawl.Retry{Attempts: c.Retry.Attempts, Backoff: c.Retry.Backoff, MaxRetryAfter: c.Retry.MaxRetryAfter,
			StallTimeout: c.Retry.StallTimeout, BreakAfter: c.Retry.BreakAfter, Cooldown: c.Retry.Cooldown},
	}
	for host, r := range c.Registries {
		cr := crawl.Registry{
			Insecure: r.Insecure, CAFile: r.CAFile, Repositories: r.Repositories,
			Include: r.Include, Exclude: r.Exclude, Platforms: r.Platforms, Jobs: r.Jobs,
			MaxRequests: r.MaxRequests, RequestsPerSecond: r.RequestsPerSecond,
		}
		auth, err := r.auth(host)
		if err != nil {
			if c.path != "" {
				err = fmt.Errorf("config %s: %w", c.path, err)
			}
			return opts, err
		}
		cr.Auth = auth
		opts.Registries[host] = cr
	}
	return opts, nil
}

func (r RegistryConfig) auth(host string) (authn.Authenticator, error) {
	env := func(key, name string) (string, error) {
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return "", fmt.Errorf("registry %s: %s names environment variable %s, which is not set", host, key, name)
		}
		return v, nil
	}
	switch {
	case r.TokenEnv != "":
		tok, err := env("token_env", r.TokenEnv)
		if err != nil {
			return nil, err
		}
		return &authn.Bearer{Token: tok}, nil
	case r.UsernameEnv != "" || r.PasswordEnv != "":
		if r.UsernameEnv == "" || r.PasswordEnv == "" {
			return nil, fmt.Errorf("registry %s: username_env and password_env go together", host)
		}
		u, err := env("username_env", r.UsernameEnv)
		if err != nil {
			return nil, err
		}
		p, err := env("password_env", r.PasswordEnv)
		if err != nil {
			return nil, err
		}
		return &authn.Basic{Username: u, Password: p}, nil
	}
	return nil, nil
}

// PackagesConfig is the [packages] table: the scanner that keeps the
// package databases of each layer.
type PackagesConfig struct {
	Enabled     bool  `toml:"enabled"`
	MaxFileSize int64 `toml:"max_file_size"` // largest database file kept
	Digests     bool  `toml:"digests"`       // md5 and sha1 of package-managed files (docs/packages.md: their cost)
}

// ConfigFilesConfig is the [config_files] table: the security-relevant
// configuration files the config scanner captures.
type ConfigFilesConfig struct {
	MaxFileSize int               `toml:"max_file_size"` // 0 = 256 KiB
	Paths       []ConfigFilesPath `toml:"paths"`
}

// ConfigFilesPath adds files to the documented path set.
type ConfigFilesPath struct {
	Glob string `toml:"glob"`
	Kind string `toml:"kind"` // how they are read; "" = lines only
}

// ConfigScanner builds the security-configuration scanner.
func (c Config) ConfigScanner() (*scanners.Config, error) {
	o := scanners.ConfigOptions{MaxFileSize: c.Files.MaxFileSize}
	for _, p := range c.Files.Paths {
		o.Extra = append(o.Extra, secconf.Extra{Glob: p.Glob, Kind: secconf.Kind(p.Kind)})
	}
	return scanners.NewConfigWith(o)
}

// PackagesScanner builds the package databases' scanner, or returns nil when
// it is disabled.
func (c Config) PackagesScanner() (*scanners.Packages, error) {
	if !c.Packages.Enabled {
		return nil, nil
	}
	p, err := scanners.NewPackages(scanners.PackagesOptions{MaxFileSize: c.Packages.MaxFileSize, NoDigests: !c.Packages.Digests})
	if err != nil {
		return nil, fmt.Errorf("packages: %w", err)
	}
	return p, nil
}
