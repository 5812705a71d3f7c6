package postgres_test

import (
	"github.com/auditor-dev/auditor/imagepkg"
	"github.com/auditor-dev/auditor/postgres"
)

// The PostgreSQL back end is an imagepkg.Store, as the SQLite index is.
var _ imagepkg.Store = (*postgres.DB)(nil)
