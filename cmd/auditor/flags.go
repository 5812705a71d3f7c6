package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/auditor-dev/auditor/index"
)

// commonFlags are the flags every command that opens the index takes.
type commonFlags struct {
	db, config string
	name       string // the command's, for messages
}

func (c *commonFlags) register(cmd *cobra.Command) {
	c.name = cmd.Name()
	fs := cmd.Flags()
	fs.StringVar(&c.db, "db", "", "index database `FILE` or PostgreSQL `postgres://` DSN (scan only; default: db in config, else auditor.db)")
	fs.StringVar(&c.config, "config", "", "config `FILE` (default: config.toml if present)")
	cmd.MarkFlagFilename("db")
	cmd.MarkFlagFilename("config", "toml")
}

// configPath names the config file load reads.
func (c *commonFlags) configPath() string {
	if c.config == "" {
		return "config.toml"
	}
	return c.config
}

// load reads the config: the named file, or config.toml when present.
func (c *commonFlags) load() (Config, error) {
	path, required := c.config, true
	if path == "" {
		path, required = "config.toml", false
	}
	cfg, err := LoadConfig(path, required)
	if err != nil {
		return cfg, err
	}
	// Every command's queries share SQLite's memory limit (process-wide).
	if err := index.SetMemoryLimit(cfg.SQL.MaxMemory); err != nil {
		return cfg, err
	}
	if c.db != "" {
		cfg.DB = c.db
	}
	return cfg, nil
}

// checkDB checks that the database path can be a database file: not a
// directory, in a directory that exists. A bad --db is a usage error, a bad
// db in the config a config error.
//
// A PostgreSQL DSN is not a file: nothing to check before opening it.
func (c *commonFlags) checkDB(path string) error {
	if isPostgres(path) {
		return nil
	}
	return c.checkFileDB(path)
}

// checkScanDB is checkDB for auditor scan.
func (c *commonFlags) checkScanDB(path string) error { return c.checkDB(path) }

func (c *commonFlags) checkFileDB(path string) error {
	var problem string
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		problem = "is a directory: name a file"
	} else if errors.Is(err, fs.ErrNotExist) {
		if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			problem = "is in no directory: " + filepath.Dir(path) + " does not exist"
		}
	}
	switch {
	case problem == "":
		return nil
	case c.db != "":
		return fmt.Errorf("%w: --db %s %s", errUsage, path, problem)
	}
	return fmt.Errorf("config %s: db %s %s", c.configPath(), path, problem)
}
