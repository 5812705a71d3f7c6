package index

import (
	"database/sql"
	"fmt"
	"strings"

	"modernc.org/sqlite"
)

// readOnlyDriver is the driver of the read-only pool: SQLite with an
// authorizer that refuses, on top of query_only, what could change the
// database or reach outside it. ATTACH is the one query_only allows (it
// creates the file it names); extensions cannot be loaded.
const readOnlyDriver = "sqlite-auditor-readonly"

func init() {
	d := &sqlite.Driver{}
	d.RegisterConnectionHook(func(conn sqlite.ExecQuerierContext, _ string) error {
		r, ok := conn.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("sqlite driver has no authorizer: cannot open a read-only connection safely")
		}
		return r.RegisterAuthorizer(readOnlyAuthorizer)
	})
	registerFunctions(d.RegisterDeterministicScalarFunction)
	sql.Register(readOnlyDriver, d)
}

func readOnlyAuthorizer(action sqlite.AuthorizerActionCode, _, arg2, _, _ string) sqlite.AuthorizerReturnCode {
	switch action {
	case sqlite.AuthAttach, sqlite.AuthDetach,
		sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete,
		sqlite.AuthCreateIndex, sqlite.AuthCreateTable, sqlite.AuthCreateTrigger, sqlite.AuthCreateView,
		sqlite.AuthCreateTempIndex, sqlite.AuthCreateTempTable, sqlite.AuthCreateTempTrigger, sqlite.AuthCreateTempView,
		sqlite.AuthDropIndex, sqlite.AuthDropTable, sqlite.AuthDropTrigger, sqlite.AuthDropView,
		sqlite.AuthDropTempIndex, sqlite.AuthDropTempTable, sqlite.AuthDropTempTrigger, sqlite.AuthDropTempView,
		sqlite.AuthAlterTable, sqlite.AuthReindex, sqlite.AuthAnalyze, sqlite.AuthCreateVTable, sqlite.AuthDropVTable:
		return sqlite.AuthorizerDeny
	case sqlite.AuthFunction:
		if strings.EqualFold(arg2, "load_extension") {
			return sqlite.AuthorizerDeny
		}
	}
	return sqlite.AuthorizerOK
}
