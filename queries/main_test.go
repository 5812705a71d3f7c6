package queries

import (
	"os"
	"testing"

	"github.com/auditor-dev/auditor/queries/querytest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	querytest.Cleanup() // the fleet index copies the tests read
	os.Exit(code)
}
