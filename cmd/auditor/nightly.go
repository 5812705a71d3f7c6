package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"github.com/BurntSushi/toml"

	"github.com/auditor-dev/auditor/report"
	"github.com/auditor-dev/auditor/rules"
)

// defaultReportKeep is how many scans' reports [report] dir keeps.
const defaultReportKeep = 30

// ReportConfig is the [report] table: where each scan writes its report,
// for a nightly job.
type ReportConfig struct {
	// Dir, when set, receives after each scan scan-NNNNNN.html (with
	// .json and .csv, the full data) and scan-NNNNNN.sarif, and
	// latest.html and latest.sarif pointing at the newest.
	Dir string `toml:"dir"`
	// Keep is how many scans' reports are kept in Dir (older ones are
	// removed); 0 keeps them all.
	Keep int `toml:"keep"`
	// Top is how many images with findings the HTML details (those with
	// new findings always are); 0 means report.DefaultTop.
	Top int `toml:"top"`
}

func (r ReportConfig) check() error {
	if r.Keep < 0 || r.Top < 0 {
		return fmt.Errorf("report: keep and top must be 0 or more, got %d and %d", r.Keep, r.Top)
	}
	return nil
}

// resolvePaths makes the relative paths the config file gives (db, rules
// files, ca_file, report dir) relative to the file's directory, base, not
// to the working directory (cron's is /). A db from the default or --db,
// or a PostgreSQL DSN, stays as it is.
func (c *Config) resolvePaths(md toml.MetaData, base string) {
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	if md.IsDefined("db") && !isPostgres(c.DB) { // a DSN is no path
		c.DB = rel(c.DB)
	}
	for i, f := range c.Rules.Files {
		c.Rules.Files[i] = rel(f)
	}
	for host, r := range c.Registries {
		r.CAFile = rel(r.CAFile)
		c.Registries[host] = r
	}
	c.Report.Dir = rel(c.Report.Dir)
}

// prepareReportDir creates [report] dir if needed, before a scan starts, so
// that a bad one fails the command before the crawl.
func prepareReportDir(cfg Config, configPath string) error {
	if cfg.Report.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(cfg.Report.Dir, 0o755); err != nil {
		return fmt.Errorf("config %s: report dir: %w", configPath, err)
	}
	return nil
}

var reportName = regexp.MustCompile(`^scan-(\d+)\.`)

// writeReportDir writes scan id's report into [report] dir, points latest.*
// at it, and removes the reports of scans beyond [report] keep.
func writeReportDir(ctx context.Context, db *indexDB, cfg Config, id int64, set []rules.Rule) error {
	dir := cfg.Report.Dir
	if dir == "" {
		return nil
	}
	base := fmt.Sprintf("scan-%06d", id)
	d, err := report.Load(ctx, db.Reader(), report.Options{ScanID: id, Top: cfg.Report.Top, Now: reportNow, Version: version})
	if err != nil {
		return err
	}
	for _, format := range []string{"html", "sarif"} {
		name := base + "." + format
		if err := report.WriteFile(filepath.Join(dir, name), format, d, set); err != nil {
			return err
		}
		if err := pointAt(filepath.Join(dir, "latest."+format), name); err != nil {
			return err
		}
	}
	return rotateReports(dir, cfg.Report.Keep)
}

// pointAt makes link a symbolic link to target, replacing it at once.
func pointAt(link, target string) error {
	tmp := link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// rotateReports removes the files of all but the keep newest scans' reports
// in dir (scan-NNNNNN.*); keep 0 keeps all.
func rotateReports(dir string, keep int) error {
	if keep == 0 {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("report dir: %w", err)
	}
	byScan := map[int64][]string{}
	for _, e := range ents {
		if m := reportName.FindStringSubmatch(e.Name()); m != nil && e.Type().IsRegular() {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			byScan[id] = append(byScan[id], e.Name())
		}
	}
	ids := make([]int64, 0, len(byScan))
	for id := range byScan {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] > ids[j] })
	for _, id := range ids[min(keep, len(ids)):] {
		for _, name := range byScan[id] {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("report dir: %w", err)
			}
		}
	}
	return nil
}
