package rules

import (
	"archive/tar"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// authImages plants what the security-relevant files say in images built
// on Debian (issue 16): PAM stacks that let some accounts in without a
// password or load a module no package installed, sudo grants through
// aliases, an environment kept for root, a program others can change and a
// policy plugin from elsewhere, an NSS module and a library search path
// that shadow the system's, a CA trusted to sign logins, LD_PRELOAD set by
// pam_env, and .npmrc files with and without credentials. Each beside
// look-alikes that must give nothing, under names a review has not seen.
func authImages(t testing.TB, base v1.Layer) []plantedImage {
	p := &planter{t: t, base: base}
	add, one := p.add, p.one

	// pam_succeed_if as a sufficient first auth rule, and su trusting a
	// group; the same module as requisite (Fedora's uid >= 1000), with
	// success=ok, in the account stack, pam_wheel without trust, its stock
	// commented trust line and pam_rootok in su are not.
	add("test/a-pam-bypass", nil, nil, one(
		ent{name: "etc/pam.d/common-auth", body: "auth sufficient pam_succeed_if.so user = svc-backup quiet\n" +
			"auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\n"},
		ent{name: "etc/pam.d/su", body: "auth sufficient pam_rootok.so\nauth sufficient pam_wheel.so trust group=staff\n@include common-auth\n"},
		ent{name: "etc/pam.d/login", body: "auth requisite pam_succeed_if.so uid >= 1000 quiet_success\n" +
			"auth [default=1 ignore=ignore success=ok] pam_usertype.so isregular\nauth required pam_wheel.so group=wheel\n" +
			"# auth sufficient pam_wheel.so trust\naccount sufficient pam_succeed_if.so uid < 1000 quiet\n@include common-auth\n"}),
		hit{rule: "pam-auth-skipped", path: "/etc/pam.d/common-auth", layer: 1},
		hit{rule: "pam-auth-skipped", path: "/etc/pam.d/su", layer: 1})

	// The same module jumping its accounts over pam_unix and pam_deny to
	// Debian's closing pam_permit; a jump over a second factor only is not
	// a bypass.
	add("test/a-pam-jump", nil, nil, one(
		ent{name: "etc/pam.d/common-auth", body: "auth [success=2 default=ignore] pam_succeed_if.so user ingroup ops quiet\n" +
			"auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\n"},
		ent{name: "etc/pam.d/sshd", body: "@include common-auth\nauth [success=1 default=ignore] pam_succeed_if.so user ingroup no2fa\n" +
			"auth required pam_google_authenticator.so\n"}),
		hit{rule: "pam-auth-skipped", path: "/etc/pam.d/common-auth", layer: 1})

	// A module copied beside the packaged ones and put first in the auth
	// stack, and a link there to a hidden library named in the session
	// stack; pam_unix (libpam-modules owns it) and a module named but not
	// in the image are not.
	add("test/a-pam-module", nil, nil, one(
		ent{name: "usr/lib/x86_64-linux-gnu/security/pam_sysauth.so", mode: 0o644, body: elf("pam_sysauth")},
		ent{name: "etc/pam.d/common-auth", body: "auth sufficient pam_sysauth.so\nauth [success=1 default=ignore] pam_unix.so nullok\n" +
			"auth requisite pam_deny.so\nauth required pam_permit.so\n"},
		ent{name: "usr/lib/x86_64-linux-gnu/security/pam_tally3.so", typ: tar.TypeSymlink, link: "/var/lib/.cache/libt.so"},
		ent{name: "etc/pam.d/common-session", body: "session required pam_unix.so\nsession optional pam_systemd.so\nsession optional pam_tally3.so\n"}),
		hit{rule: "pam-module-unpackaged", path: "/etc/pam.d/common-auth", layer: 1},
		hit{rule: "pam-module-unpackaged", path: "/etc/pam.d/common-session", layer: 1},
		hit{rule: "unpackaged-system-executable", path: "/usr/lib/x86_64-linux-gnu/security/pam_sysauth.so", layer: 1})

	// sudo grants through aliases: a Cmnd_Alias of tar and less for a
	// User_Alias, one defined in another file, an alias naming an alias of
	// vi; an alias of systemctl restarts, and MAINT with a password, are
	// not.
	add("test/a-sudo-alias", nil, nil, one(
		ent{name: "etc/sudoers.d/aliases", body: "Cmnd_Alias PAGERS = /usr/bin/more\nCmnd_Alias EDIT = /usr/bin/vi\nCmnd_Alias ADMIN = EDIT, /usr/bin/id\n"},
		ent{name: "etc/sudoers.d/ops", body: "Cmnd_Alias MAINT = /usr/bin/tar, /usr/bin/less\n" +
			"Cmnd_Alias SVC = /usr/bin/systemctl restart app, /usr/bin/systemctl status app\nUser_Alias OPS = app, deploy\n" +
			"OPS ALL=(root) NOPASSWD: MAINT\nOPS ALL=(root) NOPASSWD: SVC\nweb ALL=(root) NOPASSWD: PAGERS\nOPS ALL=(root) MAINT\n" +
			"admin ALL=(root) NOPASSWD: ADMIN\n"}),
		hit{rule: "sudo-nopasswd-escape", path: "/etc/sudoers.d/ops", layer: 1},
		hit{rule: "sudo-nopasswd-escape", path: "/etc/sudoers.d/ops", layer: 1},
		hit{rule: "sudo-nopasswd-escape", path: "/etc/sudoers.d/ops", layer: 1},
		hit{rule: "persistence-point", path: "/etc/sudoers.d/aliases", layer: 1},
		hit{rule: "persistence-point", path: "/etc/sudoers.d/ops", layer: 1})

	// LD_PRELOAD and PYTHONPATH kept for root, a grant that lets the
	// caller set any variable; locale and editor variables kept, and a
	// commented env_keep, are not. Grants of a script every account may
	// write, of a program the app's account owns and of one a group other
	// than root may write; a root-owned script in a root-owned directory,
	// writable by group 0, is not.
	add("test/a-sudo-env", nil, nil, one(
		ent{name: "etc/sudoers.d/env", body: "Defaults env_reset\nDefaults env_keep += \"LD_PRELOAD PYTHONPATH\"\n" +
			"Defaults env_keep += \"LANG LC_* EDITOR\"\n# Defaults env_keep += \"LD_LIBRARY_PATH\"\nci ALL=(root) SETENV: /usr/local/sbin/build-run\n" +
			"Defaults:ops env_delete -= \"PERL5LIB\"\nDefaults env_delete += \"LD_PRELOAD\"\n"},
		ent{name: "etc/sudoers.d/deploy", body: "deploy ALL=(root) NOPASSWD: /opt/deploy/bin/rollout.sh\n" +
			"app ALL=(root) NOPASSWD: /srv/app/bin/migrate --all\nbackup ALL=(root) /usr/local/sbin/backup.sh\n" +
			"ops ALL=(root) NOPASSWD: /usr/local/sbin/report.sh\n"},
		ent{name: "usr/local/sbin/report.sh", mode: 0o775, gid: 1001, body: "#!/bin/sh\ndf -h\n"},
		ent{name: "opt/deploy/bin/rollout.sh", mode: 0o777, body: "#!/bin/sh\nexec /opt/deploy/bin/roll \"$@\"\n"},
		ent{name: "srv/app/bin/migrate", mode: 0o755, uid: 1000, gid: 1000, body: "#!/bin/sh\nexec python3 -m app.migrate \"$@\"\n"},
		ent{name: "usr/local/sbin/backup.sh", mode: 0o775, body: "#!/bin/sh\ntar czf /backup/etc.tgz /etc\n"}),
		hit{rule: "sudo-keeps-preload-env", path: "/etc/sudoers.d/env", layer: 1},
		hit{rule: "sudo-keeps-preload-env", path: "/etc/sudoers.d/env", layer: 1},
		hit{rule: "sudo-keeps-preload-env", path: "/etc/sudoers.d/env", layer: 1},
		hit{rule: "sudo-runs-writable-program", path: "/etc/sudoers.d/deploy", layer: 1},
		hit{rule: "sudo-runs-writable-program", path: "/etc/sudoers.d/deploy", layer: 1},
		hit{rule: "sudo-runs-writable-program", path: "/etc/sudoers.d/deploy", layer: 1},
		hit{rule: "persistence-point", path: "/etc/sudoers.d/env", layer: 1},
		hit{rule: "persistence-point", path: "/etc/sudoers.d/deploy", layer: 1})

	// sudo's policy plugin replaced by a library outside sudo's
	// directories; sudo's own plugin by name and a Path line are not.
	add("test/a-sudo-plugin", nil, nil, one(
		ent{name: "etc/sudo.conf", body: "# sudo.conf\nPlugin sudoers_policy /usr/local/lib/sudo/sudoers_audit.so\n" +
			"Plugin sudoers_io sudoers.so\nPath askpass /usr/bin/ssh-askpass\n"},
		ent{name: "usr/local/lib/sudo/sudoers_audit.so", mode: 0o644, body: elf("sudoers_audit")}),
		hit{rule: "sudo-plugin-outside-package", path: "/etc/sudo.conf", layer: 1})

	// An NSS module no package installed, named for passwd and shadow; a
	// packaged one (extrausers), modules that are not in the image (nis,
	// systemd) and an action in brackets are not.
	nss := pkg{name: "libnss-extrausers", version: "0.6-5", arch: "amd64", files: []pkgFile{
		{path: "/usr/lib/x86_64-linux-gnu/libnss_extrausers.so.2", mode: 0o644, body: elf("libnss_extrausers")}}}
	add("test/a-nss", nil, nil, []v1.Layer{dpkgLayer(t, with(basePackages(), nss), []pkg{nss},
		ent{name: "etc/nsswitch.conf", body: "passwd: files dircache extrausers\ngroup: files systemd extrausers\n" +
			"shadow: files dircache\nhosts: files [NOTFOUND=return] dns\nnetgroup: nis\n"},
		ent{name: "usr/local/lib/libnss_dircache.so.2", mode: 0o644, body: elf("libnss_dircache")})},
		hit{rule: "nss-module-unpackaged", path: "/etc/nsswitch.conf", layer: 1})

	// sshd trusting a CA for user logins in a drop-in; a CA set to none,
	// a commented one and a host certificate are not.
	add("test/a-sshd-ca", nil, nil, one(
		ent{name: "etc/ssh/sshd_config", body: "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n"},
		ent{name: "etc/ssh/sshd_config.d/50-corp.conf", body: "TrustedUserCAKeys /etc/ssh/corp_user_ca.pub\nAuthorizedPrincipalsFile none\n"},
		ent{name: "etc/ssh/corp_user_ca.pub", body: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNvcnAtdXNlci1jYS1mb3ItdGVzdHM ca@corp\n"}),
		hit{rule: "sshd-trusts-user-ca", path: "/etc/ssh/sshd_config.d/50-corp.conf", layer: 1})
	// The same from a file an Include reads outside sshd_config.d, kept
	// by the config scanner for its shape.
	add("test/a-sshd-ca-included", nil, nil, one(
		ent{name: "etc/ssh/sshd_config", body: "Include /etc/ssh/sshd_config.d/*.conf\nInclude /usr/share/.ssh/ca.conf\n"},
		ent{name: "usr/share/.ssh/ca.conf", body: "# login CA\nTrustedUserCAKeys /usr/share/.ssh/ca.pub\n"}),
		hit{rule: "include-outside-config-dirs", path: "/etc/ssh/sshd_config", layer: 1},
		hit{rule: "included-config-grants", path: "/usr/share/.ssh/ca.conf", layer: 1})
	add("test/a-sshd-ca-ok", nil, nil, one(
		ent{name: "etc/ssh/sshd_config", body: "#TrustedUserCAKeys /etc/ssh/ca.pub\nTrustedUserCAKeys none\n" +
			"HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\n"}))

	// LD_PRELOAD set for every PAM login by pam_env; a commented line and
	// an ordinary variable are not.
	add("test/a-pam-env", nil, nil, one(
		ent{name: "etc/security/pam_env.conf", body: "#LD_PRELOAD DEFAULT=/tmp/x.so\nLD_PRELOAD DEFAULT=/usr/local/lib/libnetperf.so\n" +
			"DISPLAY DEFAULT=${REMOTEHOST}:0.0 OVERRIDE=${DISPLAY}\n"},
		ent{name: "usr/local/lib/libnetperf.so", mode: 0o644, body: elf("libnetperf")}),
		hit{rule: "preload-library", path: "/etc/security/pam_env.conf", layer: 1})

	// A search path read before the system's holding libraries named as
	// libc's, libcrypt's and (a link) libpthread's; an application's own
	// library directory, the stock multiarch list and libc-bin's own
	// libc.conf (/usr/local/lib, with a libcrypt built there) are not.
	crypt := pkg{name: "libcrypt1", version: "1:4.4.33-2", arch: "amd64", files: []pkgFile{
		{path: "/usr/lib/x86_64-linux-gnu/libcrypt.so.1", mode: 0o644, body: elf("libcrypt")}}}
	libcBin := pkg{name: "libc-bin", version: "2.36-9+deb12u4", arch: "amd64", files: []pkgFile{
		{path: "/etc/ld.so.conf.d/libc.conf", body: "# libc default configuration\n/usr/local/lib\n", conffile: true}}}
	libc := basePackages()[3]
	libc.files = append(libc.files, pkgFile{path: "/usr/lib/x86_64-linux-gnu/libpthread.so.0", mode: 0o644, body: elf("libpthread")})
	add("test/a-ld-hijack", nil, nil, []v1.Layer{dpkgLayer(t, with(basePackages(), crypt, libcBin, libc), []pkg{crypt, libcBin, libc},
		ent{name: "etc/ld.so.conf.d/00-accel.conf", body: "/usr/local/lib/accel\n"},
		ent{name: "usr/local/lib/accel/libpthread.so.0", typ: tar.TypeSymlink, link: "libaccel.so.1"},
		ent{name: "usr/local/lib/libcrypt.so.1", mode: 0o644, body: elf("libcrypt, built from source")},
		ent{name: "usr/local/lib/accel/libcrypt.so.1", mode: 0o644, body: elf("libcrypt, hooked")},
		ent{name: "usr/local/lib/accel/libc.so.6", mode: 0o755, body: elf("libc, hooked")},
		ent{name: "usr/local/lib/accel/libaccel.so.1", mode: 0o644, body: elf("accel")},
		ent{name: "etc/ld.so.conf.d/app.conf", body: "/opt/app/lib\n"},
		ent{name: "opt/app/lib/libapp.so.2", mode: 0o644, body: elf("app")},
		ent{name: "etc/ld.so.conf.d/x86_64-linux-gnu.conf", body: "# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n"})},
		hit{rule: "ld-path-shadows-system-library", path: "/etc/ld.so.conf.d/00-accel.conf", layer: 1})

	// .npmrc files: a token for the registry and a legacy _auth are
	// credentials; a registry setting alone is not.
	add("test/a-npmrc", nil, nil, one(
		ent{name: "root/.npmrc", body: "registry=https://registry.npmjs-cdn.com/\n"},
		ent{name: "home/app/.npmrc", body: "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"},
		ent{name: "srv/app/.npmrc", body: "always-auth=true\n_auth=ZGVwbG95OmRlcGxveQ==\n"}),
		hit{rule: "secret-file-name", path: "/home/app/.npmrc", layer: 1},
		hit{rule: "secret-file-name", path: "/srv/app/.npmrc", layer: 1})
	return p.out
}
