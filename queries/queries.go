// Package queries holds auditor's read side: the canned queries behind the
// analyst commands (find, images, ls, history, diff, cat), each in its own
// .sql file over the index's public views, the resolution of IMAGE
// references, the read-only guard for ad hoc SQL, and the table, JSON, JSON
// lines and CSV output of every command.
//
// Every function takes the index's read-only pool (index.DB.Reader) and
// writes nothing.
package queries

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// query returns the text of sql/name.sql. The files are part of the binary,
// so a missing one is a programming error.
func query(name string) string {
	b, err := sqlFiles.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("queries: no sql/%s.sql: %v", name, err))
	}
	return string(b)
}

// Errors the commands tell apart.
var (
	// ErrUnknownImage: no indexed image matches the reference.
	ErrUnknownImage = errors.New("unknown image")
	// ErrAmbiguous: a reference (digest prefix, repository without
	// registry, multi-platform tag) matches several images.
	ErrAmbiguous = errors.New("ambiguous image reference")
	// ErrNotInImage: the path is not in the image (or not in the layer asked for).
	ErrNotInImage = errors.New("path not in image")
	// ErrRefused: ad hoc SQL that could write or reach outside the index.
	ErrRefused = errors.New("refused")
)

// nullable returns nil for NULL, for raw output values.
func nullable[T any](v sql.Null[T]) any {
	if !v.Valid {
		return nil
	}
	return v.V
}
