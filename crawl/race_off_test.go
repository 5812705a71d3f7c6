//go:build !race

package crawl_test

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = false
