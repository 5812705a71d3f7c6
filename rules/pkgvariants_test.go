package rules

import (
	"archive/tar"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// pkgVariantBase is a merged-/usr Debian in miniature (bin, sbin and lib
// are links into /usr, as on bookworm) with basePackages and an
// openssh-server whose sshd the package records as /usr/sbin/sshd.
func pkgVariantBase(t testing.TB) ([]pkg, v1.Layer) {
	pkgs := with(basePackages(), pkg{name: "openssh-server", version: "1:9.2p1-2+deb12u3", arch: "amd64", files: []pkgFile{
		{path: "/usr/sbin/sshd", mode: 0o755, body: elf("sshd")}}})
	return pkgs, dpkgLayer(t, pkgs, pkgs[:0], append([]ent{
		{name: "bin", typ: tar.TypeSymlink, link: "usr/bin"},
		{name: "sbin", typ: tar.TypeSymlink, link: "usr/sbin"},
		{name: "lib", typ: tar.TypeSymlink, link: "usr/lib"},
		{name: "etc/", typ: tar.TypeDir},
		{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\n"},
		{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
		{name: "usr/bin/", typ: tar.TypeDir},
		{name: "usr/sbin/", typ: tar.TypeDir},
	}, append(pkgEntries(pkgs...), dpkgInfos(pkgs...)...)...)...)
}

func apkQ1(s string) string {
	h := sha1.Sum([]byte(s))
	return "Q1" + base64.StdEncoding.EncodeToString(h[:])
}

// pkgVariantImages are issue 15's techniques in the spellings a rule
// written for one misses: files written through the merged-/usr links
// (bin/ls, sbin/sshd, lib/.../pam_unix.so in the tar), a hardlink in a
// package's place, a setuid program replaced keeping or dropping its bit,
// a step that runs apt-get install and drops a unit, a cron file and a key
// in the same layer, an apk busybox replaced and its applet link
// retargeted; beside look-alikes that must give nothing: a dpkg upgrade of
// the setuid su written through bin/, a package's own unit written through
// lib/, a diversion with the diverted file kept under its new name,
// documentation path-excluded, executables in /usr/local and /opt, an
// image with no package database, an apk image as apk writes it.
func pkgVariantImages(t testing.TB) []plantedImage {
	pkgs, base := pkgVariantBase(t)
	var out []plantedImage
	add := func(repo string, history []string, layers []v1.Layer, hits ...hit) {
		out = append(out, plantedImage{testImage{repo: repo, layers: append([]v1.Layer{base}, layers...), history: append([]string{""}, history...)}, hits})
	}
	drift := func(p string, layer int, rules ...string) []hit {
		var hs []hit
		for _, r := range rules {
			hs = append(hs, hit{rule: r, path: p, layer: layer})
		}
		return hs
	}
	replaced := []string{"package-binary-modified", "system-binary-replaced", "system-binary-fleet-drift"}
	critical := []string{"package-critical-file-modified", "system-binary-replaced", "system-binary-fleet-drift"}

	// Clean copies: the fleet on this base (the fleet rules need three
	// images on it, most of them holding the packages' files).
	for _, r := range []string{"test/pv-clean-a", "test/pv-clean-b", "test/pv-clean-c"} {
		add(r, []string{"/bin/sh -c #(nop) WORKDIR /srv"}, []v1.Layer{layerOf(t, ent{name: "srv/" + r[len("test/"):], body: "x\n"})})
	}

	// Trojans written through the links: the tar says bin/ls and
	// sbin/sshd, extraction replaces /usr/bin/ls and /usr/sbin/sshd.
	add("test/pv-usrmerge", []string{"/bin/sh -c #(nop) COPY dir:aa in / "}, []v1.Layer{layerOf(t,
		ent{name: "bin/ls", mode: 0o755, body: elf("ls, hiding /dev/shm/.k")},
		ent{name: "sbin/sshd", mode: 0o755, body: elf("sshd with a master key")})},
		append(drift("/usr/bin/ls", 1, replaced...), drift("/usr/sbin/sshd", 1, replaced...)...)...)

	// A hardlink in the package's place: the entry at bin/ls links a file
	// the same layer dropped elsewhere.
	add("test/pv-hardlink", []string{"/bin/sh -c #(nop) COPY dir:ab in / "}, []v1.Layer{layerOf(t,
		ent{name: "var/lib/misc/ls.bin", mode: 0o755, body: elf("ls, hiding /dev/shm/.h")},
		ent{name: "bin/ls", typ: tar.TypeLink, link: "var/lib/misc/ls.bin"})},
		drift("/usr/bin/ls", 1, replaced...)...)

	// PAM module, libc and the loader through lib/, su replaced by a
	// wrapper script without its setuid bit.
	add("test/pv-critical", []string{"/bin/sh -c #(nop) COPY dir:ac in / "}, []v1.Layer{layerOf(t,
		ent{name: "lib/x86_64-linux-gnu/security/pam_unix.so", mode: 0o644, body: elf("pam_unix, any password with 0wn3d")},
		ent{name: "lib/libc.so.6", mode: 0o755, body: elf("libc, hooking readdir")},
		ent{name: "lib/ld-linux-x86-64.so.2", mode: 0o755, body: elf("ld.so, preloading /dev/shm/.l")},
		ent{name: "bin/su", mode: 0o755, body: "#!/bin/sh\nexec /usr/bin/sh\n"})},
		append(append(append(drift("/usr/lib/x86_64-linux-gnu/security/pam_unix.so", 1, critical...),
			drift("/usr/lib/libc.so.6", 1, critical...)...),
			drift("/usr/lib/ld-linux-x86-64.so.2", 1, critical...)...),
			drift("/usr/bin/su", 1, critical...)...)...)

	// su replaced keeping its setuid bit, through bin/ (the bit is not
	// new: setuid-added-by-upper-layer says nothing, the record does).
	add("test/pv-setuid", []string{"/bin/sh -c #(nop) COPY dir:ad in / "}, []v1.Layer{layerOf(t,
		ent{name: "bin/su", mode: 0o4755, body: elf("su, root for anyone")})},
		drift("/usr/bin/su", 1, critical...)...)

	// sshd replaced through sbin/ and its md5sums line rewritten to match
	// (debsums says ok), dpkg's status untouched; the same package
	// reinstalled as dpkg does it (same version, same files, the status
	// rewritten as it was) is not flagged.
	ssh := pkgs[len(pkgs)-1]
	if ssh.name != "openssh-server" {
		t.Fatalf("package %s, want openssh-server", ssh.name)
	}
	trojan := ssh
	trojan.files = []pkgFile{{path: "/usr/sbin/sshd", tar: "sbin/sshd", mode: 0o755, body: elf("sshd, logging passwords")}}
	add("test/pv-md5-rewritten", []string{"/bin/sh -c #(nop) COPY dir:af in / "}, []v1.Layer{
		layerOf(t, append(pkgEntries(trojan), dpkgInfo(trojan)[1])...)},
		hit{rule: "package-record-rewritten-with-file", path: "/usr/sbin/sshd", layer: 1},
		hit{rule: "package-records-differ-from-fleet", path: "/usr/sbin/sshd", layer: 1})
	add("test/pv-reinstall", []string{"/bin/sh -c apt-get install -y --reinstall openssh-server"},
		[]v1.Layer{dpkgLayer(t, pkgs, []pkg{ssh})})

	// A trojan written through bin/ by the step that runs apt-get
	// install; another with the package's md5sums removed (no record
	// left to compare with).
	add("test/pv-install-and-trojan", []string{"/bin/sh -c apt-get install -y svc3 && cp /tmp/ls /bin/ls"},
		[]v1.Layer{dpkgLayer(t, with(pkgs, pkg{name: "svc3", version: "1.0", arch: "amd64", files: []pkgFile{{path: "/usr/sbin/svc3d", mode: 0o755, body: elf("svc3d")}}}),
			[]pkg{{name: "svc3", version: "1.0", arch: "amd64", files: []pkgFile{{path: "/usr/sbin/svc3d", mode: 0o755, body: elf("svc3d")}}}},
			ent{name: "bin/ls", mode: 0o755, body: elf("ls, hiding /dev/shm/.i")})},
		drift("/usr/bin/ls", 1, replaced...)...)
	add("test/pv-md5-removed", []string{"/bin/sh -c #(nop) COPY dir:ag in / "}, []v1.Layer{layerOf(t,
		ent{name: "bin/ls", mode: 0o755, body: elf("ls, hiding /dev/shm/.r")},
		ent{name: "var/lib/dpkg/info/.wh.coreutils.md5sums"})},
		hit{rule: "system-binary-replaced", path: "/usr/bin/ls", layer: 1},
		hit{rule: "system-binary-fleet-drift", path: "/usr/bin/ls", layer: 1},
		hit{rule: "package-records-differ-from-fleet", path: "/usr/bin/ls", layer: 1},
		hit{rule: "package-records-differ-from-fleet", path: "/usr/share/doc/coreutils/README", layer: 1},
		hit{rule: "hidden-deleted-file", path: "/var/lib/dpkg/info/coreutils.md5sums", layer: 0})

	// A unit and a cron file written through links a lower layer made
	// (opt/units -> /etc/systemd/system, opt/jobs -> /etc/cron.d).
	add("test/pv-point-via-link", []string{"/bin/sh -c #(nop) COPY dir:ah in / ", "/bin/sh -c #(nop) COPY dir:ai in / "}, []v1.Layer{
		layerOf(t, ent{name: "etc/systemd/system/", typ: tar.TypeDir}, ent{name: "etc/cron.d/", typ: tar.TypeDir},
			ent{name: "opt/units", typ: tar.TypeSymlink, link: "/etc/systemd/system"},
			ent{name: "opt/jobs", typ: tar.TypeSymlink, link: "../etc/cron.d"}),
		layerOf(t, ent{name: "opt/units/sync.service", body: "[Service]\nExecStart=/usr/sbin/sshd -D -p 2222\n"},
			ent{name: "opt/jobs/sync", body: "@reboot root /usr/sbin/sshd -p 2222\n"})},
		hit{rule: "persistence-point", path: "/etc/systemd/system/sync.service", layer: 2},
		hit{rule: "persistence-point", path: "/etc/cron.d/sync", layer: 2},
		hit{rule: "written-through-link-into-system-dir", path: "/etc/systemd/system/sync.service", layer: 2},
		hit{rule: "written-through-link-into-system-dir", path: "/etc/cron.d/sync", layer: 2})

	// dash's sh replaced through a link a lower layer made (opt/tools ->
	// /usr/bin), the only image on the base whose sh differs.
	add("test/pv-drift-via-link", []string{"/bin/sh -c #(nop) COPY dir:aj in / ", "/bin/sh -c #(nop) COPY dir:ak in / "}, []v1.Layer{
		layerOf(t, ent{name: "opt/tools", typ: tar.TypeSymlink, link: "/usr/bin"}),
		layerOf(t, ent{name: "opt/tools/sh", mode: 0o755, body: elf("sh, with a listener")})},
		append(drift("/usr/bin/sh", 2, replaced...),
			hit{rule: "written-through-link-into-system-dir", path: "/usr/bin/sh", layer: 2})...)

	// The PAM module replaced through a link a lower layer made.
	add("test/pv-critical-via-link", []string{"/bin/sh -c #(nop) COPY dir:al in / ", "/bin/sh -c #(nop) COPY dir:am in / "}, []v1.Layer{
		layerOf(t, ent{name: "usr/local/pam", typ: tar.TypeSymlink, link: "/usr/lib/x86_64-linux-gnu/security"}),
		layerOf(t, ent{name: "usr/local/pam/pam_unix.so", mode: 0o644, body: elf("pam_unix, logging passwords")})},
		drift("/usr/lib/x86_64-linux-gnu/security/pam_unix.so", 2, critical...)...)

	// Look-alike: login upgraded as dpkg does it, su written through bin/.
	login := pkgs[len(pkgs)-2]
	if login.name != "login" {
		t.Fatalf("package %s, want login", login.name)
	}
	login.version = "1:4.13+dfsg1-1+deb12u1"
	login.files = []pkgFile{{path: "/bin/su", tar: "bin/su", mode: 0o4755, body: elf("su 4.13+dfsg1-1+deb12u1")}, login.files[1]}
	add("test/pv-upgrade-su", []string{"/bin/sh -c apt-get update && apt-get install -y --only-upgrade login"},
		[]v1.Layer{dpkgLayer(t, with(pkgs, login), []pkg{login})})

	// One step installs a package (its unit written through lib/, as its
	// data.tar spells it, recorded as /lib/systemd/system/svc2.service) and
	// also drops a unit through lib/, a cron file and root's key.
	svc := pkg{name: "svc2", version: "2.0-1", arch: "amd64", files: []pkgFile{
		{path: "/usr/sbin/svc2d", mode: 0o755, body: elf("svc2d")},
		{path: "/lib/systemd/system/svc2.service", tar: "lib/systemd/system/svc2.service", body: "[Service]\nExecStart=/usr/sbin/svc2d\n"}}}
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJldmlldy1rZXktZm9yLXRlc3RzLW9ubHktMTU ops@c2\n"
	add("test/pv-install-and-drop", []string{"/bin/sh -c apt-get install -y svc2 && cp /tmp/x.service /lib/systemd/system/ && echo '...' >> /root/.ssh/authorized_keys"},
		[]v1.Layer{dpkgLayer(t, with(pkgs, svc), []pkg{svc},
			ent{name: "lib/systemd/system/netsyncd.service", body: "[Service]\nExecStart=/usr/sbin/svc2d --sync\n"},
			ent{name: "etc/cron.d/svc2-sync", body: "*/5 * * * * root /usr/sbin/svc2d --sync\n"},
			ent{name: "root/.ssh/authorized_keys", body: key})},
		hit{rule: "persistence-point", path: "/usr/lib/systemd/system/netsyncd.service", layer: 1},
		hit{rule: "persistence-point", path: "/etc/cron.d/svc2-sync", layer: 1},
		hit{rule: "persistence-point", path: "/root/.ssh/authorized_keys", layer: 1},
		hit{rule: "ssh-authorized-keys", path: "/root/.ssh/authorized_keys", layer: 1})

	// Look-alike: a package diverts /bin/ls (dpkg-divert --rename) and
	// installs its own; coreutils' ls is kept as /bin/ls.distrib. A
	// conffile edited in the same step is info only.
	wrap := pkg{name: "ls-wrapper", version: "1.0", arch: "amd64", files: []pkgFile{{path: "/bin/ls", tar: "bin/ls", mode: 0o755, body: elf("ls wrapper")}}}
	add("test/pv-diversion", []string{"/bin/sh -c apt-get install -y ls-wrapper && echo 'UMASK 027' > /etc/login.defs"},
		[]v1.Layer{dpkgLayer(t, with(pkgs, wrap), []pkg{wrap},
			ent{name: "usr/bin/ls.distrib", mode: 0o755, body: elf("ls")},
			ent{name: "var/lib/dpkg/diversions", body: "/bin/ls\n/bin/ls.distrib\nls-wrapper\n"},
			ent{name: "etc/login.defs", body: "UMASK 027\n"})},
		hit{rule: "package-conffile-modified", path: "/etc/login.defs", layer: 1})

	// Look-alike: a package whose documentation dpkg's path-exclude
	// skipped (minimised images); its program is there.
	tool := pkg{name: "tool", version: "1.0-1", arch: "amd64", files: []pkgFile{
		{path: "/usr/bin/tool", mode: 0o755, body: elf("tool")},
		{path: "/usr/share/doc/tool/copyright", body: "c\n"},
		{path: "/usr/share/man/man1/tool.1.gz", body: "m\n"}}}
	installed := tool
	installed.files = tool.files[:1]
	add("test/pv-path-exclude", []string{"/bin/sh -c apt-get install -y tool"},
		[]v1.Layer{layerOf(t, append(append(pkgEntries(installed), dpkgInfo(tool)...),
			ent{name: "var/lib/dpkg/status", body: dpkgStatus(with(pkgs, tool))},
			ent{name: "etc/dpkg/dpkg.cfg.d/excludes", body: "path-exclude=/usr/share/doc/*\npath-exclude=/usr/share/man/*\n"})...)})

	// Programs and libraries no package owns in system directories, two
	// through the links, one in /usr/libexec; /usr/local, /opt and a
	// module pip put in dist-packages are not judged.
	add("test/pv-unowned", []string{"/bin/sh -c #(nop) COPY dir:ae in / "}, []v1.Layer{layerOf(t,
		ent{name: "sbin/netmon", mode: 0o755, body: elf("netmon")},
		ent{name: "lib/x86_64-linux-gnu/libnss_extra.so.2", mode: 0o644, body: elf("libnss_extra")},
		ent{name: "usr/lib/x86_64-linux-gnu/libz.so.9", mode: 0o644, body: elf("libz, not")},
		ent{name: "usr/libexec/netmon-helper", mode: 0o755, body: elf("netmon-helper")},
		ent{name: "usr/lib/python3/dist-packages/fastjson/_speedups.cpython-311-x86_64-linux-gnu.so", mode: 0o755, body: elf("speedups")},
		ent{name: "usr/local/lib/libfast.so.1", mode: 0o644, body: elf("libfast")},
		ent{name: "usr/local/sbin/helper", mode: 0o755, body: elf("helper")},
		ent{name: "opt/vendor/lib/libv.so", mode: 0o644, body: elf("libv")})},
		hit{rule: "unpackaged-system-executable", path: "/usr/sbin/netmon", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/x86_64-linux-gnu/libnss_extra.so.2", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/x86_64-linux-gnu/libz.so.9", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/libexec/netmon-helper", layer: 1})

	// Look-alike: an image with no package database at all (a static
	// build on a hand-made root): nothing is anyone's to judge.
	out = append(out, plantedImage{testImage{repo: "test/pv-nodb", layers: []v1.Layer{layerOf(t,
		ent{name: "bin", typ: tar.TypeSymlink, link: "usr/bin"},
		ent{name: "usr/bin/", typ: tar.TypeDir},
		ent{name: "usr/bin/app", mode: 0o755, body: elf("app")},
		ent{name: "usr/lib/libapp.so.1", mode: 0o644, body: elf("libapp")})}}, nil})

	// Alpine: busybox as apk installs it (the applet a link to it), then
	// one image with busybox replaced and an applet retargeted, and an
	// unowned program in /usr/sbin.
	bb := elf("busybox 1.36.1-r2")
	apkDB := fmt.Sprintf("C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:busybox\nV:1.36.1-r2\nA:x86_64\no:busybox\nF:bin\nR:busybox\nZ:%s\nR:ls\nZ:%s\n",
		apkQ1(bb), apkQ1("/bin/busybox"))
	alpine := layerOf(t,
		ent{name: "bin/", typ: tar.TypeDir},
		ent{name: "bin/busybox", mode: 0o755, body: bb},
		ent{name: "bin/ls", typ: tar.TypeSymlink, link: "/bin/busybox"},
		ent{name: "etc/", typ: tar.TypeDir},
		ent{name: "etc/os-release", body: "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n"},
		ent{name: "lib/apk/db/installed", body: apkDB},
		ent{name: "usr/sbin/", typ: tar.TypeDir})
	out = append(out, plantedImage{testImage{repo: "test/pv-apk-clean", layers: []v1.Layer{alpine}}, nil})
	out = append(out, plantedImage{testImage{repo: "test/pv-apk-tampered", layers: []v1.Layer{alpine, layerOf(t,
		ent{name: "bin/busybox", mode: 0o755, body: elf("busybox with a listener")},
		ent{name: "var/lib/.x/ls", mode: 0o755, body: elf("ls, hiding")},
		ent{name: "bin/ls", typ: tar.TypeSymlink, link: "/var/lib/.x/ls"},
		ent{name: "usr/sbin/crond2", mode: 0o755, body: elf("crond2")},
		// pip install on Alpine writes into /usr/lib/python3.11/site-packages
		ent{name: "usr/lib/python3.11/site-packages/psycopg2/_psycopg.cpython-311-x86_64-linux-musl.so", mode: 0o755, body: elf("psycopg")},
		ent{name: "usr/lib/ruby/gems/3.2.0/gems/nio4r-2.7.0/lib/nio4r_ext.so", mode: 0o755, body: elf("nio4r")})}}, []hit{
		{rule: "package-binary-modified", path: "/bin/busybox", layer: 1},
		{rule: "system-binary-replaced", path: "/bin/busybox", layer: 1},
		{rule: "package-binary-modified", path: "/bin/ls", layer: 1},
		{rule: "executable-in-temp-or-hidden-dir", path: "/var/lib/.x/ls", layer: 1},
		{rule: "unpackaged-system-executable", path: "/usr/sbin/crond2", layer: 1}}})
	return out
}

// TestPackageTechniqueVariants plants pkgVariantImages in a fleet of their
// own and checks that the default pack finds exactly the planted files, in
// the right layers, and nothing else.
func TestPackageTechniqueVariants(t *testing.T) {
	reg := testRegistry(t)
	var imgs []testImage
	var want []hit
	for _, pi := range pkgVariantImages(t) {
		imgs = append(imgs, pi.testImage)
		for _, h := range pi.hits {
			h.repo = pi.repo
			want = append(want, h)
		}
	}
	pushAll(t, reg, imgs)
	db := tempDB(t)
	scanInto(t, db, testMatcher(t), reg)
	runRules(t, db, defaultSet(t), RunOptions{})
	got := gotHits(t, findings(t, db, Filter{}), imgs)
	if g, w := strings.Join(sortedHits(got), "\n"), strings.Join(sortedHits(want), "\n"); g != w {
		t.Errorf("findings:\n%s\nwant:\n%s", g, w)
	}
}

// TestRecordRewrittenAlone: a file replaced with its md5sums line
// rewritten, on an image alone in its fleet. No other image records
// another digest (package-records-differ-from-fleet has nothing to
// compare with) and debsums would say ok; the layer replaced a packaged
// file and rewrote its record without dpkg's status changing, which only a
// hand-made rewrite does. Rewritten in the base layer, nothing tells.
func TestRecordRewrittenAlone(t *testing.T) {
	pkgs, base := pkgVariantBase(t)
	cu := pkgs[1]
	if cu.name != "coreutils" {
		t.Fatalf("package %s, want coreutils", cu.name)
	}
	cu.files = []pkgFile{{path: "/bin/ls", tar: "bin/ls", mode: 0o755, body: elf("ls, hiding /dev/shm/.z")}}
	imgs := []testImage{{repo: "test/alone", layers: []v1.Layer{base, layerOf(t, append(pkgEntries(cu), dpkgInfo(cu)[1])...)}}}
	reg := testRegistry(t)
	pushAll(t, reg, imgs)
	db := tempDB(t)
	scanInto(t, db, testMatcher(t), reg)
	runRules(t, db, defaultSet(t), RunOptions{})
	got := strings.Join(sortedHits(gotHits(t, findings(t, db, Filter{}), imgs)), "\n")
	if want := (hit{"package-record-rewritten-with-file", "test/alone", "/usr/bin/ls", 1}).String(); got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
}
