package rules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/index"
)

const goodRule = `
[[rule]]
id = "tmp-files"
title = "Files in /tmp"
severity = "low"
description = "Files left in /tmp."
query = """
SELECT il.image_digest, f.path, f.layer_digest, 'size ' || f.size AS detail
FROM files f JOIN image_layers il ON il.layer_digest = f.layer_digest
WHERE f.path LIKE '/tmp/%' AND f.type = 'file';
"""
`

func TestParseFileErrors(t *testing.T) {
	tests := map[string]struct{ body, want string }{
		"unknown key":      {strings.Replace(goodRule, `title =`, "titel = \"x\"\ntitle =", 1), "unknown key rule.titel"},
		"bad severity":     {strings.Replace(goodRule, `"low"`, `"severe"`, 1), `rule tmp-files: unknown severity "severe"`},
		"missing severity": {strings.Replace(goodRule, `severity = "low"`, ``, 1), "rule tmp-files: missing severity"},
		"missing query":    {strings.Replace(goodRule, `query =`, `q =`, 1), "unknown key rule.q"},
		"missing id":       {strings.Replace(goodRule, `id = "tmp-files"`, ``, 1), "rule #1: missing id"},
		"bad id":           {strings.Replace(goodRule, `"tmp-files"`, `"Tmp Files"`, 1), "id must be"},
		"duplicate":        {goodRule + goodRule, "rule tmp-files: defined twice"},
		"no rules":         {"# nothing\n", "no [[rule]] tables"},
		"bad toml":         {"[[rule]\n", "rules file mine.toml"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseFile("mine.toml", []byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "mine.toml") {
				t.Errorf("ParseFile: %v, want an error naming mine.toml and containing %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	db := tempDB(t)
	ctx := context.Background()
	idx, err := index.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	rs, err := ParseFile("mine.toml", []byte(goodRule))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(ctx, idx.Reader(), &rs[0]); err != nil {
		t.Errorf("good rule: %v", err)
	}
	bad := map[string]struct{ query, want string }{
		"does not compile": {"SELEC 1", "does not compile"},
		"unknown view":     {"SELECT * FROM nope", "no such table: nope"},
		"missing columns":  {"SELECT image_digest, path FROM image_files", "does not return column layer_digest, detail"},
		"two statements":   {"SELECT image_digest, path, layer_digest, '' AS detail FROM image_files; DELETE FROM layers", "does not compile"},
		"writes":           {"DELETE FROM layers RETURNING digest AS image_digest, NULL AS path, NULL AS layer_digest, '' AS detail", "does not compile"},
	}
	for name, tt := range bad {
		t.Run(name, func(t *testing.T) {
			r := Rule{ID: "bad", Source: "mine.toml", Query: tt.query}
			err := Validate(ctx, idx.Reader(), &r)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "rule bad (mine.toml)") {
				t.Errorf("Validate: %v, want an error naming the rule and file, containing %q", err, tt.want)
			}
		})
	}
	// Every default rule compiles and returns the columns.
	set := defaultSet(t)
	for i := range set.Rules {
		if err := Validate(ctx, idx.Reader(), &set.Rules[i]); err != nil {
			t.Error(err)
		}
	}
}

func TestNewSet(t *testing.T) {
	dir := t.TempDir()
	override := strings.NewReplacer(`"tmp-files"`, `"known-bad-name"`, `"low"`, `"info"`).Replace(goodRule)
	for name, body := range map[string]string{"a.toml": goodRule, "b.toml": override} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	def := defaultSet(t)
	s, err := NewSet(SetOptions{Files: []string{filepath.Join(dir, "*.toml")}, Disable: []string{"config-*", "tar-orphan-whiteout"}})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]Rule{}
	for _, r := range s.Rules {
		ids[r.ID] = r
	}
	if r, ok := ids["known-bad-name"]; !ok || r.Severity != Info || !strings.HasSuffix(r.Source, "b.toml") {
		t.Errorf("known-bad-name not overridden by b.toml: %+v", r)
	}
	if _, ok := ids["tmp-files"]; !ok {
		t.Error("user rule tmp-files missing")
	}
	// Disabled: the config-* rules and tar-orphan-whiteout.
	off := 1
	for _, r := range def.Rules {
		if strings.HasPrefix(r.ID, "config-") {
			off++
		}
	}
	if off < 7 || len(s.Disabled) != off || len(s.Rules) != len(def.Rules)+1-off {
		t.Errorf("%d enabled, %d disabled; want %d and %d (at least 7)", len(s.Rules), len(s.Disabled), len(def.Rules)+1-off, off)
	}
	for _, o := range []SetOptions{{Disable: []string{"no-such-rule"}}, {Files: []string{filepath.Join(dir, "*.rules")}}, {Files: []string{filepath.Join(dir, "missing.toml")}},
		{Files: []string{filepath.Join(dir, "a.toml"), filepath.Join(dir, "a.toml")}}} {
		if _, err := NewSet(o); err == nil {
			t.Errorf("NewSet(%+v): no error", o)
		}
	}
}
