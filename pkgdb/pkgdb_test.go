package pkgdb

import (
	"errors"
	"os"
	"testing"
)

// cleanups run after the package's tests (what tests share, built once).
var cleanups []func()

func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	os.Exit(code)
}

func TestIsDatabasePath(t *testing.T) {
	for p, want := range map[string]bool{
		"/var/lib/dpkg/status":                      true,
		"/var/lib/dpkg/status-old":                  false,
		"/var/lib/dpkg/status.d/libc6":              true,
		"/var/lib/dpkg/status.d/libc6.md5sums":      true,
		"/var/lib/dpkg/info/libc6:amd64.list":       true,
		"/var/lib/dpkg/info/libc6:amd64.md5sums":    true,
		"/var/lib/dpkg/info/base-files.conffiles":   true,
		"/var/lib/dpkg/info/libc6:amd64.postinst":   false,
		"/var/lib/dpkg/diversions":                  true,
		"/etc/dpkg/dpkg.cfg":                        true,
		"/etc/dpkg/dpkg.cfg.d/docker":               true,
		"/lib/apk/db/installed":                     true,
		"/lib/apk/db/scripts.tar":                   false,
		"/etc/apk/protected_paths.d/base.list":      true,
		"/etc/apk/protected_paths.d/base.txt":       false,
		"/var/lib/rpm/rpmdb.sqlite":                 true,
		"/usr/lib/sysimage/rpm/Packages.db":         true,
		"/var/lib/rpm/Packages":                     true,
		"/var/lib/rpm/Name":                         false,
		"/home/user/var/lib/dpkg/status":            false,
		"/usr/lib/sysimage/rpm/rpmdb.sqlite-wal":    false,
		"/var/lib/dpkg/info/nested/x.list":          false,
		"/var/lib/dpkg/info/../../../etc/x.md5sums": false,
	} {
		if got := IsDatabasePath(p); got != want {
			t.Errorf("IsDatabasePath(%s) = %v", p, got)
		}
	}
}

func TestMaxFileSize(t *testing.T) {
	if DefaultLimits.MaxFileSize("/var/lib/rpm/rpmdb.sqlite") != DefaultLimits.MaxSize || DefaultLimits.MaxFileSize(DpkgStatus) != DefaultLimits.MaxTextSize {
		t.Error("MaxFileSize")
	}
	lim := Limits{MaxSize: 100, MaxTextSize: 10, MaxRecords: 10, MaxLine: 100}
	if _, err := ParseDpkgStatus("s", []byte("Package: abcdefgh\n"), lim); !errors.Is(err, ErrTooLarge) {
		t.Errorf("text over MaxTextSize: %v", err)
	}
	if (Limits{MaxSize: 100}).MaxFileSize(DpkgStatus) != 100 {
		t.Error("no MaxTextSize: MaxSize")
	}
}
