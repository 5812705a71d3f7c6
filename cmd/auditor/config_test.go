package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := LoadConfig("../../config.toml", true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB != filepath.Join("..", "..", "auditor.db") || len(cfg.Registries) != 1 { // db is relative to the config file
		t.Errorf("example config decoded as %+v", cfg)
	}
	// An example scans nothing by itself, and its settings apply to no
	// registry a user scans (the demo's registry is loopback).
	if len(cfg.Targets) != 0 {
		t.Errorf("example config names targets %v: a scan with no argument would go there", cfg.Targets)
	}
	for host := range cfg.Registries {
		if !strings.HasSuffix(host, ".example.com") {
			t.Errorf("example config has settings for a live registry %q", host)
		}
	}
	if _, err := cfg.CrawlOptions(); err != nil {
		t.Errorf("example config: %v", err)
	}
	// It says what the defaults are.
	if def := DefaultConfig(); cfg.SQL != def.SQL || cfg.Rules.Timeout != def.Rules.Timeout {
		t.Errorf("example config: [sql] %+v, rules timeout %s; the defaults are %+v, %s", cfg.SQL, cfg.Rules.Timeout, def.SQL, def.Rules.Timeout)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct{ body, want string }{
		"unknown key":        {"db = \"x.db\"\nthreads = 3\n", "unknown key threads"},
		"unknown nested key": {"[registries.\"r.example.com\"]\npasword_env = \"P\"\n", `registries."r.example.com".pasword_env`},
		"negative jobs":      {"jobs = -1\n", "jobs must be"},
		"negative timeout":   {"[rules]\ntimeout = \"-1s\"\n", "rules.timeout must be"},
		"negative memory":    {"[sql]\nmax_memory = -1\n", "sql.max_memory"},
		"bad toml":           {"db = \n", "config"},
		"config path kind":   {"[[config_files.paths]]\nglob = \"/opt/app/cron/*\"\nkind = \"crontab\"\n", `extra path #1 "/opt/app/cron/*": unknown kind "crontab"`},
		"config path glob":   {"[[config_files.paths]]\nglob = \"opt/app/*\"\n", `extra path #1 "opt/app/*": not an absolute`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".toml")
			if err := os.WriteFile(p, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(p, true)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadConfig: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := LoadConfig(filepath.Join(dir, "absent.toml"), false); err != nil {
		t.Errorf("absent optional config: %v", err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "absent.toml"), true); err == nil {
		t.Error("absent named config: no error")
	}
}

func TestCredentialsFromEnvironment(t *testing.T) {
	t.Setenv("AUD_TEST_USER", "alice")
	t.Setenv("AUD_TEST_PASS", "s3cret-value")
	cfg := DefaultConfig()
	cfg.Registries = map[string]RegistryConfig{"r.example.com": {UsernameEnv: "AUD_TEST_USER", PasswordEnv: "AUD_TEST_PASS"}}
	opts, err := cfg.CrawlOptions()
	if err != nil {
		t.Fatal(err)
	}
	a, err := opts.Registries["r.example.com"].Auth.Authorization()
	if err != nil || a.Username != "alice" || a.Password != "s3cret-value" {
		t.Errorf("auth = %+v, %v", a, err)
	}
	cfg.Registries = map[string]RegistryConfig{"r.example.com": {UsernameEnv: "AUD_TEST_USER", PasswordEnv: "AUD_TEST_UNSET"}}
	_, err = cfg.CrawlOptions()
	if err == nil || !strings.Contains(err.Error(), "AUD_TEST_UNSET") || strings.Contains(err.Error(), "alice") {
		t.Errorf("unset password variable: %v", err)
	}
	// Read from a file, the error names it: which of the machine's config
	// files holds the table is not always plain (a cron job, a unit).
	path := filepath.Join(t.TempDir(), "nightly.toml")
	if err := os.WriteFile(path, []byte("[registries.\"r.example.com\"]\ntoken_env = \"AUD_TEST_UNSET\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err = LoadConfig(path, true); err != nil {
		t.Fatal(err)
	}
	_, err = cfg.CrawlOptions()
	if want := "config " + path + ": registry r.example.com: token_env names environment variable AUD_TEST_UNSET, which is not set"; err == nil || err.Error() != want {
		t.Errorf("unset token variable: %v, want %s", err, want)
	}
}

func TestExampleConfigRules(t *testing.T) {
	cfg, err := LoadConfig("../../config.toml", true)
	if err != nil {
		t.Fatal(err)
	}
	set, err := cfg.RuleSet()
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) < 20 || len(cfg.Rules.Suppress) != 1 {
		t.Errorf("example config: %d rules, %d suppressions", len(set.Rules), len(cfg.Rules.Suppress))
	}
	// Its example suppression names a placeholder registry, never the
	// test fleet's images, so it silences nothing a user scans.
	for _, s := range cfg.Rules.Suppress {
		if s.Fingerprint != "" || !strings.HasPrefix(s.Image, "registry.example.com/") {
			t.Errorf("example config suppresses %+v: it would apply to user scans", s)
		}
	}
	m, err := cfg.ContentMatcher()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Match("/x", []byte("key acme_0123456789abcdef0123456789abcdef\n")); len(got) != 1 || got[0].PatternID != "acme-api-key" {
		t.Errorf("example pattern: %+v", got)
	}
	def := DefaultConfig()
	if !def.Rules.Enabled || !def.Content.Enabled || def.Content.MaxFileSize != 1<<20 {
		t.Errorf("defaults: %+v %+v", def.Rules, def.Content)
	}
}

// With no TARGET and no targets in the config, scan is a usage error that
// contacts nothing, even when the config has [registries] settings (the
// example config's): settings are not targets.
func TestScanNoTargetWithExampleConfig(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	_, errOut, code := runCmd(t, "scan", "--config", "../../config.toml", "--db", db)
	if code != exitUsage || !strings.Contains(errOut, "name a TARGET") {
		t.Errorf("scan with no target: exit %d, %q; want %d naming a TARGET", code, errOut, exitUsage)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("scan with no target created the database")
	}
}

// TestConfigPostgresDSN: db = "postgres://..." in a config file is a DSN,
// kept as written, not a path made relative to the file's directory.
func TestConfigPostgresDSN(t *testing.T) {
	for _, dsn := range []string{"postgres://auditor@db.example/auditor?sslmode=verify-full", "postgresql:///auditor?host=/run/postgresql"} {
		p := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(p, []byte("db = \""+dsn+"\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(p, true)
		if err != nil || cfg.DB != dsn {
			t.Errorf("db %q read as %q (%v)", dsn, cfg.DB, err)
		}
	}
}
