package secconf

import (
	"bytes"
	"regexp"
	"strings"
)

// The candidate kinds: a file outside the documented path set whose content
// has the shape of an authorized_keys, sudoers, PAM or sshd file. sshd,
// sudo and PAM read such files wherever a configuration names them (an
// AuthorizedKeysFile, an Include, an @includedir, a PAM include of an
// absolute path), and that configuration may sit in the same layer after
// the file, or in a layer above it: a layer is streamed once and may belong
// to several images, so what names a file cannot be known while the file
// streams. Capturing by shape keeps every file a configuration could name
// with a key or a grant in it, and the rules judge a candidate only when a
// visible configuration of the same image names it. Their rows are typed
// "candidate-" + the base type, so that sudo_grants, pam_lines and
// ssh_options (the files the system reads in any case) leave them out.
const (
	KindCandidateKeys    Kind = "candidate-authorized_keys"
	KindCandidateSudoers Kind = "candidate-sudoers"
	KindCandidatePAM     Kind = "candidate-pam"
	KindCandidateSSHD    Kind = "candidate-sshd_config"
)

// ShapeMaxSize is the largest file judged by its shape: real key, grant and
// PAM files are a few KiB.
const ShapeMaxSize = 64 << 10

// IsCandidate reports whether k is a candidate kind.
func IsCandidate(k Kind) bool { return strings.HasPrefix(string(k), "candidate-") }

// BaseKind is the kind whose format a candidate kind has (k itself for
// any other kind).
func BaseKind(k Kind) Kind { return Kind(strings.TrimPrefix(string(k), "candidate-")) }

// ShapeCandidate reports whether the regular file at p, of size bytes, is
// worth reading for its shape: small, and not in a kernel file system.
func ShapeCandidate(p string, size int64) bool {
	if size <= 0 || size > ShapeMaxSize {
		return false
	}
	for _, pre := range []string{"/proc/", "/sys/", "/dev/"} {
		if strings.HasPrefix(p, pre) {
			return false
		}
	}
	return true
}

var (
	keyShape  = regexp.MustCompile(`(^|\s)(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(-cert-v01@openssh\.com)?\s+AAAA[A-Za-z0-9+/]{16,}`)
	pamShape  = regexp.MustCompile(`^(-?(auth|account|password|session)\s+(required|requisite|sufficient|optional|include|substack|\[[^\]]*\])\s+\S|@include\s+\S)`)
	sudoShape = regexp.MustCompile(`^((%|%:|\+)?[A-Za-z0-9_.@\\-]+|ALL|#[0-9]+)(\s*,\s*\S+)*\s+[A-Za-z0-9_.,!+-]+\s*=\s*(\([^)]*\)\s*(!?[A-Z_]+\s*:\s*)*(ALL\b|/|!|sudoedit\s)|(!?[A-Z_]+\s*:\s*)+(ALL\b|/|!|sudoedit\s)|ALL\b)|^(@|#)includedir\s+/|^(User|Runas|Host|Cmnd)_Alias\s+[A-Z0-9_]+\s*=`)
	sshdShape = regexp.MustCompile(`(?i)^(PermitRootLogin|PermitEmptyPasswords|AuthorizedKeysFile|AuthorizedKeysCommand|PermitUserEnvironment|PasswordAuthentication|PubkeyAuthentication|UsePAM|KbdInteractiveAuthentication|ChallengeResponseAuthentication|AllowUsers|AllowGroups|ForceCommand|HostKey|Subsystem|TrustedUserCAKeys|AuthorizedPrincipalsFile|AuthorizedPrincipalsCommand)[\s=]+\S`)
)

// shapeLines is how many lines (not empty, not comments) decide a file's
// shape when it holds no key: sudo and sshd refuse a file with a line they
// cannot parse, so what they read starts with their syntax.
const shapeLines = 32

// sshdKeywords are sshd's own keywords (ssh_config has none of them) that
// matter to authentication.
var sshdKeywords = map[string]bool{
	"permitrootlogin": true, "permitemptypasswords": true, "authorizedkeysfile": true, "authorizedkeyscommand": true,
	"permituserenvironment": true, "passwordauthentication": true, "pubkeyauthentication": true, "usepam": true,
	"kbdinteractiveauthentication": true, "challengeresponseauthentication": true, "allowusers": true, "allowgroups": true,
	"forcecommand": true, "hostkey": true, "subsystem": true,
	"trustedusercakeys": true, "authorizedprincipalsfile": true, "authorizedprincipalscommand": true,
}

// Shape returns the candidate kind of data, a file outside the documented
// set, or KindNone: one line of an authorized key anywhere makes it a key
// file; else, of its first lines, a PAM rule, a sudoers user specification
// (a run-as list or a tag before its commands, or ALL) or one of sshd's own
// keywords decides, in that order. Text only: a NUL byte in the first 512
// bytes rules a file out. Every small file of a layer comes here, so the
// checks are literal first and a regex only where a literal matched.
func Shape(data []byte) Kind {
	if len(data) == 0 || len(data) > ShapeMaxSize || bytes.IndexByte(data[:min(len(data), 512)], 0) >= 0 {
		return KindNone
	}
	if bytes.Contains(data, []byte("AAAA")) {
		for s := string(data); s != ""; {
			var l string
			l, s, _ = strings.Cut(s, "\n")
			if t := strings.TrimSpace(l); t != "" && t[0] != '#' && strings.Contains(t, "AAAA") && keyShape.MatchString(t) {
				return KindCandidateKeys
			}
		}
	}
	var pam, sudo, sshd bool
	n := 0
	for s := string(data); s != "" && n < shapeLines; {
		var l string
		l, s, _ = strings.Cut(s, "\n")
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if t[0] == '#' && !strings.HasPrefix(t, "#include") { // sudoers' old include syntax is a comment's
			continue
		}
		n++
		switch c := t[0]; {
		case (c == 'a' || c == 'p' || c == 's' || c == '-' || c == '@') && pamShape.MatchString(t):
			pam = true
		case (strings.IndexByte(t, '=') > 0 || strings.HasPrefix(t, "@include") || strings.HasPrefix(t, "#include")) && sudoShape.MatchString(t):
			sudo = true
		default:
			k, _ := splitKeyword(t)
			if sshdKeywords[strings.ToLower(k)] && sshdShape.MatchString(t) {
				sshd = true
			}
		}
	}
	switch {
	case pam:
		return KindCandidatePAM
	case sudo:
		return KindCandidateSudoers
	case sshd:
		return KindCandidateSSHD
	}
	return KindNone
}
