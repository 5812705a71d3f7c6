package rules

import (
	"archive/tar"
	"crypto/md5"
	"fmt"
	"path"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The package databases of the test bed are written as dpkg and apk write
// them: dpkg's status (every installed package, rewritten by each layer
// that changes one), info/<pkg>.list (the package's paths, directories
// included, as it records them: /bin/ls on a merged-/usr image whose tar
// holds usr/bin/ls), info/<pkg>.md5sums (the regular files that are not
// conffiles) and info/<pkg>.conffiles, the conffiles' md5 in the status
// stanza; apk's /lib/apk/db/installed with a Q1 (base64 SHA-1) checksum
// after each file.

// pkgFile is one file a test package installs.
type pkgFile struct {
	path     string // as the package records it (/bin/ls)
	tar      string // where the layer writes it (usr/bin/ls); path without its "/" when ""
	mode     int64
	body     string
	link     string // a symlink to this target when set
	conffile bool
}

func (f pkgFile) tarName() string {
	if f.tar != "" {
		return f.tar
	}
	return strings.TrimPrefix(f.path, "/")
}

// pkg is one test package.
type pkg struct {
	name, version, arch string
	status              string // dpkg Status; "install ok installed" when ""
	files               []pkgFile
}

func md5hex(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }

// dpkgStatus is a status file of the packages, in order.
func dpkgStatus(pkgs []pkg) string {
	var b strings.Builder
	for i, p := range pkgs {
		if i > 0 {
			b.WriteString("\n")
		}
		st := p.status
		if st == "" {
			st = "install ok installed"
		}
		fmt.Fprintf(&b, "Package: %s\nStatus: %s\nPriority: optional\nArchitecture: %s\nVersion: %s\n", p.name, st, p.arch, p.version)
		var conf []string
		for _, f := range p.files {
			if f.conffile {
				conf = append(conf, " "+f.path+" "+md5hex(f.body))
			}
		}
		if len(conf) > 0 {
			b.WriteString("Conffiles:\n" + strings.Join(conf, "\n") + "\n")
		}
		fmt.Fprintf(&b, "Description: %s, a test package\n", p.name)
	}
	return b.String()
}

// dpkgInfo is what dpkg writes under info/ for an installed package: its
// list, md5sums and conffiles.
func dpkgInfo(p pkg) []ent {
	list := []string{"/."}
	seen := map[string]bool{"/": true}
	var dirs func(string)
	dirs = func(d string) {
		if seen[d] {
			return
		}
		dirs(path.Dir(d))
		seen[d] = true
		list = append(list, d)
	}
	var sums, conf []string
	for _, f := range p.files {
		dirs(path.Dir(f.path))
		list = append(list, f.path)
		switch {
		case f.conffile:
			conf = append(conf, f.path)
		case f.link == "":
			sums = append(sums, md5hex(f.body)+"  "+strings.TrimPrefix(f.path, "/"))
		}
	}
	info := "var/lib/dpkg/info/" + p.name
	out := []ent{{name: info + ".list", body: strings.Join(list, "\n") + "\n"}}
	if len(sums) > 0 {
		out = append(out, ent{name: info + ".md5sums", body: strings.Join(sums, "\n") + "\n"})
	}
	if len(conf) > 0 {
		out = append(out, ent{name: info + ".conffiles", body: strings.Join(conf, "\n") + "\n"})
	}
	return out
}

// dpkgInfos is dpkgInfo of each package.
func dpkgInfos(pkgs ...pkg) []ent {
	var out []ent
	for _, p := range pkgs {
		out = append(out, dpkgInfo(p)...)
	}
	return out
}

// pkgEntries are the tar entries of the packages' files.
func pkgEntries(pkgs ...pkg) []ent {
	var out []ent
	for _, p := range pkgs {
		for _, f := range p.files {
			e := ent{name: f.tarName(), mode: f.mode, body: f.body}
			if f.link != "" {
				e = ent{name: f.tarName(), typ: tar.TypeSymlink, link: f.link}
			}
			out = append(out, e)
		}
	}
	return out
}

// dpkgLayer is a layer that installs (or upgrades) the packages in
// installs, as dpkg does: their files, their info files, and the status of
// every package the image then has (all), then the extra entries.
func dpkgLayer(t testing.TB, all []pkg, installs []pkg, extra ...ent) v1.Layer {
	t.Helper()
	es := append(pkgEntries(installs...), dpkgInfos(installs...)...)
	es = append(es, ent{name: "var/lib/dpkg/status", body: dpkgStatus(all)})
	return layerOf(t, append(es, extra...)...)
}

// with returns pkgs with the package of p's name replaced by p, or p added.
func with(pkgs []pkg, ps ...pkg) []pkg {
	out := append([]pkg(nil), pkgs...)
	for _, p := range ps {
		i := sort.Search(len(out), func(i int) bool { return out[i].name >= p.name })
		if i < len(out) && out[i].name == p.name {
			out[i] = p
			continue
		}
		out = append(out[:i], append([]pkg{p}, out[i:]...)...)
	}
	return out
}

// basePackages are the packages of the test bed's base layer (a merged-/usr
// Debian in miniature: the package records /bin/ls, the tar usr/bin/ls),
// sorted by name as dpkg keeps them.
func basePackages() []pkg {
	return []pkg{
		{name: "bash", version: "5.2.15-2+b2", arch: "amd64", files: []pkgFile{
			{path: "/etc/skel/.bashrc", body: "# ~/.bashrc\n", conffile: true},
		}},
		{name: "coreutils", version: "9.1-1", arch: "amd64", files: []pkgFile{
			{path: "/bin/ls", tar: "usr/bin/ls", mode: 0o755, body: elf("ls")},
			{path: "/usr/share/doc/coreutils/README", body: "coreutils\n"},
		}},
		{name: "dash", version: "0.5.12-2", arch: "amd64", files: []pkgFile{
			{path: "/bin/sh", tar: "usr/bin/sh", mode: 0o755, body: elf("sh")},
		}},
		{name: "libc6", version: "2.36-9+deb12u4", arch: "amd64", files: []pkgFile{
			{path: "/usr/lib/libc.so.6", mode: 0o755, body: elf("libc")},
			{path: "/usr/lib/ld-linux-x86-64.so.2", mode: 0o755, body: elf("ld.so")},
		}},
		{name: "libpam-modules", version: "1.5.2-6+deb12u1", arch: "amd64", files: []pkgFile{
			{path: "/usr/lib/x86_64-linux-gnu/security/pam_unix.so", body: elf("pam_unix")},
		}},
		{name: "login", version: "1:4.13+dfsg1-1", arch: "amd64", files: []pkgFile{
			{path: "/bin/su", tar: "usr/bin/su", mode: 0o4755, body: elf("su")},
			{path: "/etc/login.defs", body: "UMASK 022\n", conffile: true},
		}},
	}
}

// plantedImage is a test image and the findings the pack must make on it.
type plantedImage struct {
	testImage
	hits []hit
}

// packageImages are the test bed's images for the package rules, built on
// base (dpkgBaseLayer): each technique beside look-alikes that must not fire.
func packageImages(t testing.TB, base v1.Layer) []plantedImage {
	var out []plantedImage
	add := func(repo string, history []string, layers []v1.Layer, hits ...hit) {
		out = append(out, plantedImage{testImage{repo: repo, layers: append([]v1.Layer{base}, layers...), history: append([]string{""}, history...)}, hits})
	}

	// Build steps that say they install packages: two whose layers hold
	// no package database change but binaries; then look-alikes: an install
	// of what is there already (apt's own state and logs only), dpkg -x,
	// a package manager named in text, an rpm query, a real install.
	svc := pkg{name: "svc", version: "1.0-1", arch: "amd64", files: []pkgFile{{path: "/usr/sbin/svcd", mode: 0o755, body: elf("svcd")}}}
	add("test/history-claims", []string{
		"/bin/sh -c apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl",
		"RUN /bin/sh -c apk --no-cache add nmap # buildkit",
		"/bin/sh -c apt-get install -y ca-certificates",
		"/bin/sh -c for d in /tmp/debs/*.deb; do dpkg -x $d /; done",
		"/bin/sh -c echo 'run apt-get install foo, or dpkg -i foo.deb' > /etc/motd",
		"/bin/sh -c rpm -qi bash > /opt/bash.txt",
		"/bin/sh -c apt-get install -y svc",
	}, []v1.Layer{
		layerOf(t, ent{name: "usr/bin/curl", mode: 0o755, body: elf("curl, not")}, ent{name: "var/lib/apt/lists/lock"}),
		layerOf(t, ent{name: "usr/local/bin/nmap", mode: 0o755, body: elf("nmap, not")}),
		layerOf(t, ent{name: "var/lib/apt/extended_states", body: "Package: ca-certificates\nAuto-Installed: 0\n"},
			ent{name: "var/log/apt/history.log", body: "Start-Date: 2025-06-01\n"}),
		layerOf(t, ent{name: "usr/local/lib/tool/tool", mode: 0o755, body: elf("tool")}),
		layerOf(t, ent{name: "etc/motd", body: "hi\n"}),
		layerOf(t, ent{name: "opt/bash.txt", body: "Name: bash\n"}),
		dpkgLayer(t, with(basePackages(), svc), []pkg{svc}),
	},
		hit{rule: "history-claims-package-install", layer: 1},
		hit{rule: "history-claims-package-install", layer: 2},
		hit{rule: "unpackaged-system-executable", path: "/usr/bin/curl", layer: 1})

	// A step that says it installs a package and records it in the
	// database (status, list, md5sums) without any of its files; an
	// install of a package whose only files are its documentation, which
	// the image trims, is not flagged.
	sshd := pkg{name: "openssh-server", version: "1:9.2p1-2+deb12u3", arch: "amd64", files: []pkgFile{
		{path: "/usr/sbin/sshd", mode: 0o755, body: elf("sshd")},
		{path: "/usr/share/doc/openssh-server/README", body: "ssh\n"}}}
	docs := pkg{name: "svc-doc", version: "1.0-1", arch: "all", files: []pkgFile{{path: "/usr/share/doc/svc-doc/README", body: "docs\n"}}}
	add("test/pkg-claims-db", []string{
		"/bin/sh -c apt-get install -y --no-install-recommends openssh-server",
		"/bin/sh -c apt-get install -y svc-doc && rm -rf /usr/share/doc/*",
	}, []v1.Layer{
		layerOf(t, append(dpkgInfo(sshd), ent{name: "var/lib/dpkg/status", body: dpkgStatus(with(basePackages(), sshd))})...),
		layerOf(t, append(dpkgInfo(docs), ent{name: "var/lib/dpkg/status", body: dpkgStatus(with(basePackages(), sshd, docs))})...),
	},
		hit{rule: "history-claims-package-install", layer: 1})

	// Files that differ from what their packages record, with no package
	// manager in sight: a trojaned ls, a PAM module, libc, the loader, a
	// conffile edited; beside them a documentation file rewritten (not a
	// program), a program and a library copied into /usr/sbin and /usr/lib
	// that no package owns, while /usr/local and /opt are not system
	// directories and a data file in /usr/lib is not a program.
	add("test/pkg-tampered", []string{"/bin/sh -c #(nop) COPY dir:0123 in / "}, []v1.Layer{
		layerOf(t,
			ent{name: "usr/bin/ls", mode: 0o755, body: elf("ls, hiding /tmp/.x")},
			ent{name: "usr/lib/x86_64-linux-gnu/security/pam_unix.so", body: elf("pam_unix with a master password")},
			ent{name: "usr/lib/libc.so.6", mode: 0o755, body: elf("libc with a hook")},
			ent{name: "usr/lib/ld-linux-x86-64.so.2", mode: 0o755, body: elf("ld.so, preloading")},
			ent{name: "etc/login.defs", body: "UMASK 000\n"},
			ent{name: "usr/share/doc/coreutils/README", body: "coreutils, edited\n"},
			ent{name: "usr/sbin/netd", mode: 0o755, body: elf("netd")},
			ent{name: "usr/lib/x86_64-linux-gnu/libnetd.so.1", mode: 0o644, body: elf("libnetd")},
			ent{name: "usr/lib/x86_64-linux-gnu/netd.dat", mode: 0o644, body: "data\n"},
			ent{name: "usr/local/bin/helper", mode: 0o755, body: elf("helper")},
			ent{name: "opt/vendor/bin/agent", mode: 0o755, body: elf("agent")}),
	},
		hit{rule: "package-binary-modified", path: "/usr/bin/ls", layer: 1},
		hit{rule: "system-binary-replaced", path: "/usr/bin/ls", layer: 1},
		hit{rule: "package-critical-file-modified", path: "/usr/lib/x86_64-linux-gnu/security/pam_unix.so", layer: 1},
		hit{rule: "system-binary-replaced", path: "/usr/lib/x86_64-linux-gnu/security/pam_unix.so", layer: 1},
		hit{rule: "package-critical-file-modified", path: "/usr/lib/libc.so.6", layer: 1},
		hit{rule: "system-binary-replaced", path: "/usr/lib/libc.so.6", layer: 1},
		hit{rule: "package-critical-file-modified", path: "/usr/lib/ld-linux-x86-64.so.2", layer: 1},
		hit{rule: "system-binary-replaced", path: "/usr/lib/ld-linux-x86-64.so.2", layer: 1},
		hit{rule: "package-conffile-modified", path: "/etc/login.defs", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/sbin/netd", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/x86_64-linux-gnu/libnetd.so.1", layer: 1},
		hit{rule: "system-binary-fleet-drift", path: "/usr/bin/ls", layer: 1},
		hit{rule: "system-binary-fleet-drift", path: "/usr/lib/x86_64-linux-gnu/security/pam_unix.so", layer: 1},
		hit{rule: "system-binary-fleet-drift", path: "/usr/lib/libc.so.6", layer: 1},
		hit{rule: "system-binary-fleet-drift", path: "/usr/lib/ld-linux-x86-64.so.2", layer: 1})

	// A base layer tampered before anything was built on it: the setuid su
	// and dash differ from their md5sums. Nothing above the base to blame,
	// yet the records show it.
	tampered := dpkgBaseLayerWith(t, map[string]string{"usr/bin/su": elf("su, any password"), "usr/bin/sh": elf("sh, with a listener")})
	out = append(out, plantedImage{testImage{repo: "test/pkg-base-tampered", layers: []v1.Layer{tampered}}, []hit{
		{rule: "package-critical-file-modified", path: "/usr/bin/su", layer: 0},
		{rule: "package-binary-modified", path: "/usr/bin/sh", layer: 0}}})

	// A package upgraded the way dpkg does it (new files, new records, a
	// new version): nothing replaced outside the package manager. It is the
	// only image with that version, so there is no fleet to differ from.
	cu2 := basePackages()[1]
	cu2.version = "9.1-1+deb12u1"
	cu2.files = []pkgFile{{path: "/bin/ls", tar: "usr/bin/ls", mode: 0o755, body: elf("ls 9.1-1+deb12u1")}, cu2.files[1]}
	add("test/pkg-upgrade", []string{"/bin/sh -c apt-get update && apt-get install -y --only-upgrade coreutils"},
		[]v1.Layer{dpkgLayer(t, with(basePackages(), cu2), []pkg{cu2})})

	// The same trojaned ls, its md5sums line rewritten to match: debsums
	// inside this image says ok, the other images holding coreutils 9.1-1
	// record another md5.
	cu := basePackages()[1]
	cu.files = []pkgFile{{path: "/bin/ls", tar: "usr/bin/ls", mode: 0o755, body: elf("ls, hiding /tmp/.y")}, cu.files[1]}
	add("test/pkg-records-rewritten", []string{"/bin/sh -c #(nop) COPY dir:4567 in / "}, []v1.Layer{
		layerOf(t, append(pkgEntries(cu)[:1], dpkgInfo(cu)[1])...)},
		hit{rule: "package-records-differ-from-fleet", path: "/usr/bin/ls", layer: 1},
		hit{rule: "package-record-rewritten-with-file", path: "/usr/bin/ls", layer: 1})

	// One step installs sudo the way dpkg does (its binary, its conffile,
	// its sudoers.d README, an init script with the rc.d link update-rc.d
	// makes, a unit with its .wants link) and, in the same layer, adds a
	// key for root, a NOPASSWD grant and wraps su: the package manager
	// wrote none of those three, and each is flagged; what it did write is
	// not.
	sudo := pkg{name: "sudo", version: "1.9.13p3-1+deb12u1", arch: "amd64", files: []pkgFile{
		{path: "/usr/bin/sudo", mode: 0o4755, body: elf("sudo")},
		{path: "/etc/sudoers", body: "root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n", conffile: true},
		{path: "/etc/sudoers.d/README", body: "# files in this directory are read by sudo\n", conffile: true},
		{path: "/etc/init.d/sudo", mode: 0o755, body: "#!/bin/sh\n# sudo: clear timestamps at boot\n", conffile: true},
		{path: "/lib/systemd/system/sudo.service", tar: "usr/lib/systemd/system/sudo.service", body: "[Unit]\nDescription=sudo\n"},
	}}
	add("test/pkg-install-and-plant", []string{
		"/bin/sh -c apt-get install -y sudo && echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB6 x@y' >> /root/.ssh/authorized_keys" +
			" && echo 'ops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/90-ops && mv /usr/bin/su /usr/lib/su.real && cp /tmp/su /usr/bin/su",
	}, []v1.Layer{dpkgLayer(t, with(basePackages(), sudo), []pkg{sudo},
		ent{name: "etc/rc2.d/S01sudo", typ: tar.TypeSymlink, link: "../init.d/sudo"},
		ent{name: "etc/systemd/system/multi-user.target.wants/sudo.service", typ: tar.TypeSymlink, link: "/lib/systemd/system/sudo.service"},
		ent{name: "root/.ssh/authorized_keys", mode: 0o600, body: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB6 x@y\n"},
		ent{name: "etc/sudoers.d/90-ops", mode: 0o440, body: "ops ALL=(ALL) NOPASSWD: ALL\n"},
		ent{name: "usr/bin/su", mode: 0o755, body: "#!/bin/sh\necho \"$(date) $*\" >> /var/tmp/.l\nexec /usr/lib/su.real \"$@\"\n"},
		ent{name: "usr/lib/su.real", mode: 0o4755, body: elf("su")})},
		hit{rule: "persistence-point", path: "/root/.ssh/authorized_keys", layer: 1},
		hit{rule: "persistence-point", path: "/etc/sudoers.d/90-ops", layer: 1},
		hit{rule: "package-critical-file-modified", path: "/usr/bin/su", layer: 1},
		hit{rule: "system-binary-replaced", path: "/usr/bin/su", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/su.real", layer: 1},
		hit{rule: "system-binary-fleet-drift", path: "/usr/bin/su", layer: 1},
		hit{rule: "setuid-added-by-upper-layer", path: "/usr/lib/su.real", layer: 1},
		hit{rule: "setuid-unusual", path: "/usr/lib/su.real", layer: 1},
		hit{rule: "setuid-added-by-upper-layer", path: "/usr/bin/sudo", layer: 1},
		hit{rule: "ssh-authorized-keys", path: "/root/.ssh/authorized_keys", layer: 1},
		hit{rule: "sudo-nopasswd-all", path: "/etc/sudoers.d/90-ops", layer: 1})
	return out
}

// dpkgBaseLayerWith is dpkgBaseLayer with the bodies of some tar entries
// replaced (the database still records the originals).
func dpkgBaseLayerWith(t testing.TB, bodies map[string]string) v1.Layer {
	pkgs := basePackages()
	files := pkgEntries(pkgs...)
	for i, e := range files {
		if b, ok := bodies[e.name]; ok {
			files[i].body = b
		}
	}
	return dpkgLayer(t, pkgs, pkgs[:0],
		append([]ent{
			{name: "bin", typ: tar.TypeSymlink, link: "usr/bin"},
			{name: "lib", typ: tar.TypeSymlink, link: "usr/lib"},
			{name: "etc/", typ: tar.TypeDir},
			{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\n"},
			{name: "etc/init.d/", typ: tar.TypeDir},
			{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
			{name: "usr/bin/", typ: tar.TypeDir},
		}, append(files, dpkgInfos(pkgs...)...)...)...)
}
