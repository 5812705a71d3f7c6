// Package secconf reads what the security-relevant configuration files of an
// image say: accounts and authentication (passwd, shadow, group, sudoers,
// PAM, sshd), autostart (cron, systemd units, init scripts, shell start-up
// files, ld.so.preload, modprobe.d), and name resolution and package sources
// (hosts, apt, apk, yum/dnf, pip, npm). It parses bytes, as a layer scanner
// hands them over (nothing is read from a disk), into rows that rules join in
// SQL. Every parser takes hostile input: lines are bounded, a file over the
// bounds is refused with an error naming it, and a malformed line is kept as
// an unparsed line rather than failing the whole file (a system reading the
// same file would skip it too).
package secconf

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Kind is the format of a captured file, from its path.
type Kind string

// The kinds of captured files (the files view shows them).
const (
	KindPasswd     Kind = "passwd"
	KindShadow     Kind = "shadow"
	KindGroup      Kind = "group"
	KindGShadow    Kind = "gshadow"
	KindSudoers    Kind = "sudoers"
	KindSudoConf   Kind = "sudo.conf" // sudo's front end: plugins, lines only
	KindPAM        Kind = "pam"
	KindPAMEnv     Kind = "pam_env" // pam_env.conf, ~/.pam_environment: lines only
	KindSSHD       Kind = "sshd_config"
	KindSSH        Kind = "ssh_config"
	KindAuthorized Kind = "authorized_keys"
	KindCron       Kind = "cron"     // crontab(5) with a user field: /etc/crontab, /etc/cron.d/*
	KindUserCron   Kind = "usercron" // a user's crontab in a spool: no user field
	KindCronScript Kind = "cron-script"
	KindSystemd    Kind = "systemd"
	KindInit       Kind = "init" // init scripts, rc.local, and other scripts run by something at start or on an event
	// KindAutostart is a file that names commands something else runs
	// (supervisord programs, XDG autostart entries, upstart jobs, udev
	// RUN keys, logrotate scripts, Python .pth start-up lines): lines only.
	KindAutostart  Kind = "autostart"
	KindShellRC    Kind = "shellrc"
	KindModules    Kind = "modules" // modules-load.d, /etc/modules
	KindModprobe   Kind = "modprobe"
	KindPreload    Kind = "ld.so.preload"
	KindLdConf     Kind = "ld.so.conf"
	KindHosts      Kind = "hosts"
	KindResolv     Kind = "resolv.conf"
	KindNSSwitch   Kind = "nsswitch.conf"
	KindAptList    Kind = "apt-list"    // sources.list one-line style
	KindAptSources Kind = "apt-sources" // deb822 .sources
	KindAptConf    Kind = "apt-conf"
	KindApkRepos   Kind = "apk-repositories"
	KindYumRepo    Kind = "yum-repo"
	KindPip        Kind = "pip"
	KindNpm        Kind = "npm"
	KindGem        Kind = "gem"
	// git's system and global configuration: hooks, fsmonitor, credential
	// helpers and pagers it runs (lines only).
	KindGitConfig Kind = "gitconfig"
	// kernel parameters set at boot (sysctl.conf, sysctl.d; lines only).
	KindSysctl Kind = "sysctl"
	KindNone   Kind = ""
)

// Classify returns the kind of the file at the absolute, clean path p, or
// KindNone when it is not one secconf captures. This is the documented path
// set; config.toml may add paths (captured as lines only).
func Classify(p string) Kind {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch p {
	case "/etc/passwd":
		return KindPasswd
	case "/etc/shadow":
		return KindShadow
	case "/etc/group":
		return KindGroup
	case "/etc/gshadow":
		return KindGShadow
	case "/etc/sudoers":
		return KindSudoers
	case "/etc/sudo.conf":
		return KindSudoConf
	case "/etc/security/pam_env.conf":
		return KindPAMEnv
	case "/etc/ssh/sshd_config":
		return KindSSHD
	case "/etc/ssh/ssh_config":
		return KindSSH
	case "/etc/crontab", "/etc/anacrontab":
		return KindCron
	case "/etc/rc.local", "/etc/rc.d/rc.local", "/etc/inittab":
		return KindInit
	case "/etc/supervisord.conf", "/etc/supervisor/supervisord.conf":
		return KindAutostart
	case "/etc/profile", "/etc/bash.bashrc", "/etc/bashrc", "/etc/zshrc", "/etc/zsh/zshrc",
		"/etc/zsh/zshenv", "/etc/zsh/zprofile", "/etc/environment", "/etc/csh.cshrc", "/etc/csh.login",
		// run by sshd at every login, and by bash at logout
		"/etc/ssh/sshrc", "/etc/bash.bash_logout":
		return KindShellRC
	case "/etc/modules":
		return KindModules
	case "/etc/ld.so.preload":
		return KindPreload
	case "/etc/ld.so.conf":
		return KindLdConf
	case "/etc/hosts":
		return KindHosts
	case "/etc/resolv.conf":
		return KindResolv
	case "/etc/nsswitch.conf":
		return KindNSSwitch
	case "/etc/apt/sources.list":
		return KindAptList
	case "/etc/apk/repositories":
		return KindApkRepos
	case "/etc/pip.conf", "/etc/xdg/pip/pip.conf":
		return KindPip
	case "/etc/npmrc", "/usr/etc/npmrc":
		return KindNpm
	case "/etc/gemrc":
		return KindGem
	case "/etc/gitconfig":
		return KindGitConfig
	case "/etc/sysctl.conf":
		return KindSysctl
	case "/etc/yum.conf", "/etc/dnf/dnf.conf":
		return KindYumRepo
	}
	switch dir {
	case "/etc/sudoers.d":
		return KindSudoers
	case "/etc/pam.d", "/usr/lib/pam.d":
		return KindPAM
	case "/etc/ssh/sshd_config.d":
		return confOnly(base, KindSSHD)
	case "/etc/ssh/ssh_config.d":
		return confOnly(base, KindSSH)
	case "/etc/cron.d":
		return KindCron
	case "/var/spool/cron", "/var/spool/cron/crontabs", "/var/spool/cron/tabs":
		return KindUserCron
	case "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly":
		return KindCronScript
	case "/etc/init.d", "/etc/rc.d/init.d", "/etc/local.d",
		// scripts run at start, login or on events by something else
		"/docker-entrypoint.d", "/etc/update-motd.d", "/etc/cont-init.d", "/etc/cont-finish.d",
		"/etc/network/if-up.d", "/etc/network/if-pre-up.d", "/etc/network/if-down.d", "/etc/network/if-post-down.d",
		"/etc/NetworkManager/dispatcher.d", "/etc/ppp/ip-up.d", "/etc/X11/Xsession.d",
		"/var/spool/cron/atjobs", "/var/spool/at":
		return KindInit
	case "/etc/crontabs": // busybox and Alpine crond's spool
		return KindUserCron
	case "/etc/periodic/15min", "/etc/periodic/hourly", "/etc/periodic/daily", "/etc/periodic/weekly", "/etc/periodic/monthly":
		return KindCronScript
	case "/etc/supervisor/conf.d", "/etc/supervisord.d", "/etc/init", "/etc/logrotate.d":
		return KindAutostart
	case "/etc/xdg/autostart":
		if path.Ext(base) == ".desktop" {
			return KindAutostart
		}
		return KindNone
	case "/etc/udev/rules.d", "/usr/lib/udev/rules.d", "/lib/udev/rules.d":
		if path.Ext(base) == ".rules" {
			return KindAutostart
		}
		return KindNone
	case "/etc/profile.d", "/etc/bash_completion.d": // both sourced by every interactive bash
		return KindShellRC
	case "/etc/modules-load.d", "/usr/lib/modules-load.d", "/run/modules-load.d":
		return KindModules
	case "/etc/modprobe.d", "/usr/lib/modprobe.d", "/lib/modprobe.d":
		return KindModprobe
	case "/etc/ld.so.conf.d":
		return KindLdConf
	case "/etc/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d":
		if path.Ext(base) == ".conf" {
			return KindSysctl
		}
		return KindNone
	case "/etc/apt/sources.list.d":
		switch path.Ext(base) {
		case ".list":
			return KindAptList
		case ".sources":
			return KindAptSources
		}
		return KindNone
	case "/etc/apt/apt.conf.d":
		return KindAptConf
	case "/etc/yum.repos.d", "/etc/distro.repos.d":
		if path.Ext(base) == ".repo" {
			return KindYumRepo
		}
		return KindNone
	}
	if base == "authorized_keys" || base == "authorized_keys2" {
		return KindAuthorized
	}
	if k := langConfig(dir, base); k != KindNone {
		return k
	}
	if k := serviceScript(dir, base); k != KindNone {
		return k
	}
	if pythonStartup(dir, base) {
		return KindAutostart
	}
	if strings.HasPrefix(p, "/etc/systemd/") || strings.HasPrefix(p, "/usr/lib/systemd/system") ||
		strings.HasPrefix(p, "/lib/systemd/system") || strings.HasPrefix(p, "/usr/lib/systemd/user") ||
		strings.Contains(p, "/.config/systemd/user/") {
		if isUnitFile(base) {
			return KindSystemd
		}
		return KindNone
	}
	if home, rest, ok := homeFile(p); ok && home != "" {
		switch rest {
		case ".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc", ".zprofile", ".zshenv", ".bash_logout", ".cshrc", ".tcshrc",
			".bash_aliases", // sourced by Debian's .bashrc
			".ssh/rc":       // run by sshd at the user's every login
			return KindShellRC
		case ".pip/pip.conf", ".config/pip/pip.conf":
			return KindPip
		case ".npmrc":
			return KindNpm
		case ".gemrc":
			return KindGem
		case ".gitconfig", ".config/git/config":
			return KindGitConfig
		case ".ssh/config":
			return KindSSH
		case ".pam_environment":
			return KindPAMEnv
		}
		if strings.HasPrefix(rest, ".config/autostart/") && path.Ext(rest) == ".desktop" && path.Dir(rest) == ".config/autostart" {
			return KindAutostart
		}
	}
	return KindNone
}

// serviceScript classifies the run scripts of runit, s6 and s6-overlay
// service directories (/etc/sv/NAME/run, /etc/service/NAME/run,
// /etc/services.d/NAME/run, /etc/s6-overlay/s6-rc.d/NAME/up), which their
// supervisors run at start and again whenever the service exits.
func serviceScript(dir, base string) Kind {
	switch base {
	case "run", "finish", "up", "down":
	default:
		return KindNone
	}
	parent := path.Dir(dir)
	switch parent {
	case "/etc/sv", "/etc/service", "/etc/services.d", "/etc/s6-overlay/s6-rc.d", "/etc/runit/sv", "/var/service", "/etc/s6/sv":
		return KindInit
	}
	return KindNone
}

// langConfig classifies the configuration files pip and npm read besides
// /etc and the home directories, wherever they are: pip's site file at the
// root of the interpreter's prefix or of a virtual environment
// (/usr/local/pip.conf, /opt/venv/pip.conf), a project's .npmrc (npm reads
// the one of the directory it runs in), npm's global npmrc under a
// prefix's etc (/usr/local/etc/npmrc) and its built-in one
// (node_modules/npm/npmrc).
func langConfig(dir, base string) Kind {
	switch {
	case base == "pip.conf":
		return KindPip
	case base == ".npmrc":
		return KindNpm
	case base == "npmrc" && (path.Base(dir) == "etc" || strings.HasSuffix(dir, "/node_modules/npm")):
		return KindNpm
	}
	return KindNone
}

// pythonStartup reports whether dir/base is a file every Python start
// reads and may execute: a .pth file of a site-packages or dist-packages
// directory (its "import" lines run), sitecustomize.py or usercustomize.py.
func pythonStartup(dir, base string) bool {
	d := path.Base(dir)
	if d != "site-packages" && d != "dist-packages" {
		return false
	}
	return path.Ext(base) == ".pth" || base == "sitecustomize.py" || base == "usercustomize.py"
}

// confOnly keeps only the *.conf files of an Include directory (what the
// stock Include lines of Debian and Fedora read).
func confOnly(base string, k Kind) Kind {
	if strings.HasSuffix(base, ".conf") {
		return k
	}
	return KindNone
}

// isUnitFile reports whether base names a systemd unit or a drop-in.
func isUnitFile(base string) bool {
	switch path.Ext(base) {
	case ".service", ".timer", ".socket", ".path", ".mount", ".automount", ".target", ".conf":
		return true
	}
	return false
}

// homeFile splits p into a home directory (/root, /home/USER) and the path
// beneath it.
func homeFile(p string) (home, rest string, ok bool) {
	if r, ok := strings.CutPrefix(p, "/root/"); ok {
		return "/root", r, true
	}
	if r, ok := strings.CutPrefix(p, "/home/"); ok {
		user, r2, ok := strings.Cut(r, "/")
		if ok && user != "" {
			return "/home/" + user, r2, true
		}
	}
	return "", "", false
}

// Limits bound what one file may cost.
type Limits struct {
	MaxSize  int // bytes of one file
	MaxLine  int // bytes of one line
	MaxLines int // lines of one file
}

// DefaultLimits are generous for real systems and bound hostile files.
var DefaultLimits = Limits{MaxSize: 256 << 10, MaxLine: 16 << 10, MaxLines: 20000}

// ErrTooLarge is wrapped by every error for a file over the Limits.
var ErrTooLarge = errors.New("configuration file over the size limits")

// Line is one line of a captured file, numbered from 1.
type Line struct {
	N    int
	Text string
}

// Lines splits data into numbered lines (without "\r\n" or "\n"), refusing a
// file over lim. name names the file in errors.
func Lines(name string, data []byte, lim Limits) ([]Line, error) {
	if lim.MaxSize > 0 && len(data) > lim.MaxSize {
		return nil, fmt.Errorf("%s: %d bytes, over %d: %w", name, len(data), lim.MaxSize, ErrTooLarge)
	}
	var out []Line
	s := string(data)
	for n := 1; s != ""; n++ {
		l, rest, _ := strings.Cut(s, "\n")
		s = rest
		if lim.MaxLine > 0 && len(l) > lim.MaxLine {
			return nil, fmt.Errorf("%s: line %d is %d bytes, over %d: %w", name, n, len(l), lim.MaxLine, ErrTooLarge)
		}
		if lim.MaxLines > 0 && n > lim.MaxLines {
			return nil, fmt.Errorf("%s: over %d lines: %w", name, lim.MaxLines, ErrTooLarge)
		}
		out = append(out, Line{N: n, Text: strings.TrimSuffix(l, "\r")})
	}
	return out, nil
}

// stripComment removes a # comment (at the start of a line or after white
// space) and surrounding white space.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			s = s[:i]
			break
		}
	}
	return strings.TrimSpace(s)
}
