package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/auditor-dev/auditor/internal/safetext"
)

// Test hooks of the binary, for the tests that run it as real processes
// (several workers, one killed mid-layer). Both are environment variables
// no user sets; neither changes what is stored, only when.

// testNow is the time AUDITOR_TEST_NOW (RFC 3339) fixes for every record
// and for the rules (so that two processes' indexes compare row for row),
// or nil.
func testNow() func() time.Time {
	v := os.Getenv("AUDITOR_TEST_NOW")
	if v == "" {
		return nil
	}
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil
	}
	return func() time.Time { return at }
}

// testPauseMidLayer is the worker's entry hook of AUDITOR_TEST_PAUSE_MID_LAYER=N:
// the first layer this process reads that reaches N entries stops there
// for good (its blob half read, its lease still renewed), after one line
// on stderr saying so, for a test to kill the process in the middle of a
// layer. nil when unset.
func testPauseMidLayer(stderr io.Writer) func(string, int64) {
	n, err := strconv.ParseInt(os.Getenv("AUDITOR_TEST_PAUSE_MID_LAYER"), 10, 64)
	if err != nil || n <= 0 {
		return nil
	}
	var once sync.Once
	return func(digest string, entries int64) {
		if entries != n {
			return
		}
		paused := false
		once.Do(func() { paused = true })
		if !paused {
			return
		}
		fmt.Fprintf(stderr, "auditor scan: test: paused in layer %s after %d entries\n", safetext.Escape(digest), entries)
		select {}
	}
}

// setNow makes the index record times from now.
func (d *indexDB) setNow(now func() time.Time) {
	if d.pg != nil {
		d.pg.Now = now
	} else {
		d.lite.Now = now
	}
}
