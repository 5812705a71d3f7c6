package rules

import (
	"encoding/json"
	"io"
	"net/url"
	"strings"

	"github.com/auditor-dev/auditor/internal/safetext"
)

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/): one run,
// the rules as reportingDescriptors, each finding a result located at
// image-digest/path as an artifact URI, with the fingerprint as a partial
// fingerprint so code-scanning tools track it across runs.

const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool       sarifTool      `json:"tool"`
	Results    []sarifResult  `json:"results"`
	Properties map[string]any `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name,omitempty"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	BaselineState       string            `json:"baselineState,omitempty"`
	Suppressions        []sarifSuppress   `json:"suppressions,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifSuppress struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind"`
}

// sarifLevel maps severities to SARIF levels.
func sarifLevel(s Severity) string {
	switch {
	case s >= High:
		return "error"
	case s == Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the CVSS-like score GitHub code scanning reads.
var securitySeverity = map[Severity]string{Critical: "9.5", High: "8.0", Medium: "5.5", Low: "3.0", Info: "0.0"}

func writeSARIF(w io.Writer, r *Report) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "auditor", Version: r.Version,
		InformationURI: "https://github.com/auditor-dev/auditor"}}, Results: []sarifResult{},
		Properties: map[string]any{"scan_id": r.ScanID}}
	idx := map[string]int{}
	addRule := func(id, title, desc string, sev Severity) int {
		if i, ok := idx[id]; ok {
			return i
		}
		idx[id] = len(run.Tool.Driver.Rules)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: id, Name: id,
			ShortDescription: sarifText{title}, FullDescription: sarifText{firstNonEmpty(desc, title)}, Help: sarifText{firstNonEmpty(desc, title)},
			DefaultConfiguration: sarifConfig{sarifLevel(sev)},
			Properties:           map[string]any{"security-severity": securitySeverity[sev], "tags": []string{"security", "container"}, "severity": sev.String()}})
		return idx[id]
	}
	for i := range r.Rules {
		addRule(r.Rules[i].ID, r.Rules[i].Title, r.Rules[i].Description, r.Rules[i].Severity)
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		ri := addRule(f.RuleID, f.Title, "", f.Severity)
		msg := f.Title + ": " + f.Detail
		res := sarifResult{RuleID: f.RuleID, RuleIndex: ri, Level: sarifLevel(f.Severity), Message: sarifText{msg},
			PartialFingerprints: map[string]string{"auditorFingerprint/v1": f.Fingerprint},
			Properties: map[string]any{"image_digest": f.ImageDigest, "repository": f.Repository, "tags": strings.Fields(f.Tags),
				"layer_digest": f.LayerDigest, "severity": f.Severity.String(), "state": f.State, "first_seen": f.FirstSeen, "last_seen": f.LastSeen}}
		if b64 := safetext.Base64(f.Path); b64 != "" {
			res.Properties["path"+safetext.Base64Suffix] = b64 // the artifact URI escapes the bytes too
		}
		switch f.State {
		case "new":
			res.BaselineState = "new"
		case "open":
			res.BaselineState = "unchanged"
		case "resolved":
			res.BaselineState = "absent"
		}
		if f.Suppressed != "" {
			res.Suppressions = []sarifSuppress{{Kind: "external", Justification: f.Suppressed}}
		}
		loc := sarifLocation{LogicalLocations: []sarifLogical{{Name: imageName(f), FullyQualifiedName: f.ImageDigest, Kind: "module"}}}
		if f.Path != "" {
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: artifactURI(f)}}
		}
		res.Locations = []sarifLocation{loc}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: "2.1.0", Runs: []sarifRun{run}})
}

// artifactURI names a file of an image as a relative URI reference:
// "<image digest>/<path>", each path segment escaped.
func artifactURI(f *Finding) string {
	segs := strings.Split(strings.TrimPrefix(f.Path, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.ReplaceAll(f.ImageDigest, ":", "/") + "/" + strings.Join(segs, "/")
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
