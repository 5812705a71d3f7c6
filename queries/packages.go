package queries

import (
	"context"
	"fmt"
)

// PackagesMode says what Packages lists.
type PackagesMode int

// The listings of Packages.
const (
	// PackageList: the image's installed packages, with how many of their
	// file records were judged each way.
	PackageList PackagesMode = iota
	// PackageChanges: the file records whose file differs from what the
	// package installed (modified, conffile-modified) or is gone (missing),
	// what debsums and rpm -V report.
	PackageChanges
	// PackageUnowned: the image's visible regular files no package owns.
	PackageUnowned
)

// Packages lists an image's packages (the packages and package_files
// views), changed package files, or unowned files (image_files.package).
func Packages(ctx context.Context, db Querier, im *Image, mode PackagesMode) (*Result, error) {
	var q string
	var cols []Column
	switch mode {
	case PackageList:
		q = `SELECT p.manager, p.name, p.version, p.architecture, p.source_name, p.source_version, p.layer_position,
			(SELECT count(*) FROM package_files f WHERE f.image_digest = p.image_digest AND f.package = p.name),
			(SELECT count(*) FROM package_files f WHERE f.image_digest = p.image_digest AND f.package = p.name AND f.status = 'modified'),
			(SELECT count(*) FROM package_files f WHERE f.image_digest = p.image_digest AND f.package = p.name AND f.status = 'missing'),
			p.records_digest
			FROM packages p WHERE p.image_digest = ? ORDER BY p.manager, p.name, p.architecture`
		cols = []Column{{Name: "manager", Head: "MANAGER"}, {Name: "name", Head: "NAME"}, {Name: "version", Head: "VERSION", Max: 30},
			{Name: "architecture", Head: "ARCH"}, {Name: "source_name", NoTable: true}, {Name: "source_version", NoTable: true},
			{Name: "layer_position", Head: "LAYER", Right: true}, {Name: "files", Head: "FILES", Right: true},
			{Name: "modified", Head: "MODIFIED", Right: true}, {Name: "missing", Head: "MISSING", Right: true},
			{Name: "records_digest", NoTable: true}}
	case PackageChanges:
		q = `SELECT package, status, path, recorded_path, algorithm, expected, actual FROM package_files
			WHERE image_digest = ? AND status IN ('modified', 'conffile-modified', 'missing') ORDER BY path, package`
		cols = []Column{{Name: "package", Head: "PACKAGE"}, {Name: "status", Head: "STATUS"}, {Name: "path", Head: "PATH"},
			{Name: "recorded_path", NoTable: true}, {Name: "algorithm", NoTable: true},
			{Name: "expected", NoTable: true}, {Name: "actual", NoTable: true}}
	case PackageUnowned:
		q = `SELECT DISTINCT path, type, mode, size, layer_position, COALESCE(sha256, '') FROM image_files
			WHERE image_digest = ? AND visible AND package IS NULL AND type IN ('file', 'hardlink') ORDER BY path`
		cols = []Column{{Name: "path", Head: "PATH"}, {Name: "type", Head: "TYPE"}, {Name: "mode", Head: "MODE", Show: Octal},
			{Name: "size", Head: "SIZE", Right: true, Show: HumanSize}, {Name: "layer_position", Head: "LAYER", Right: true},
			{Name: "sha256", NoTable: true}}
	default:
		return nil, fmt.Errorf("packages: unknown mode %d", mode)
	}
	rows, err := db.QueryContext(ctx, q, im.Digest)
	if err != nil {
		return nil, fmt.Errorf("packages of %s: %w", im.Name(), err)
	}
	defer rows.Close()
	res := &Result{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("packages of %s: %w", im.Name(), err)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("packages of %s: %w", im.Name(), err)
	}
	return res, nil
}
