package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/auditor-dev/auditor/rules"
)

// Formats are the formats Write knows: html, and the findings report
// formats of rules.Write over the report's findings.
var Formats = append([]string{"html"}, rules.Formats...)

// RulesReport returns the report's findings (every state) as a rules report,
// for the table, JSON, CSV and SARIF formats.
func (d *Data) RulesReport(ruleSet []rules.Rule) *rules.Report {
	r := &rules.Report{ScanID: d.Scan.ID, Title: "findings", Rules: ruleSet, Version: d.Version}
	for _, f := range d.Findings {
		r.Findings = append(r.Findings, f.Finding)
	}
	return r
}

// Write renders d in format to w. ruleSet names the rules for SARIF.
func Write(w io.Writer, format string, d *Data, ruleSet []rules.Rule, o HTMLOptions) error {
	if format == "html" {
		return HTML(w, d, o)
	}
	return rules.Write(w, format, d.RulesReport(ruleSet))
}

// Companions are the names of the full data's files beside an HTML report
// at path: the same name with .json and .csv.
func Companions(path string) (jsonPath, csvPath string) {
	base := strings.TrimSuffix(path, filepath.Ext(path))
	return base + ".json", base + ".csv"
}

// WriteFile writes d in format to path, replacing it only once the whole
// report is written (a reader never sees half a report). An HTML report
// gets the full data beside it (see Companions), linked from the page.
func WriteFile(path, format string, d *Data, ruleSet []rules.Rule) error {
	var o HTMLOptions
	if format == "html" {
		jp, cp := Companions(path)
		if err := writeAtomic(jp, func(w io.Writer) error { return rules.Write(w, "json", d.RulesReport(ruleSet)) }); err != nil {
			return err
		}
		if err := writeAtomic(cp, func(w io.Writer) error { return rules.Write(w, "csv", d.RulesReport(ruleSet)) }); err != nil {
			return err
		}
		o = HTMLOptions{JSON: filepath.Base(jp), CSV: filepath.Base(cp)}
	}
	return writeAtomic(path, func(w io.Writer) error { return Write(w, format, d, ruleSet, o) })
}

// writeAtomic writes path through a temporary file in its directory.
func writeAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // after the rename, nothing is there to remove
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return nil
}
