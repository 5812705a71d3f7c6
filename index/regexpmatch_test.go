package index

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
)

// Patterns of the default rule pack, and a few more shapes.
var matchPatterns = []string{
	`(?i)(^|/)(\.aws/credentials|\.netrc|_netrc|\.git-credentials|\.pgpass|\.npmrc|\.pypirc|\.docker/config\.json|\.kube/config|\.vault-token|\.env(\.(local|prod|production|dev|development|staging|test))?|id_(rsa|dsa|ecdsa|ed25519)|[^/]+\.(p12|pfx|jks|keystore|ppk|key)|credentials\.json|application_default_credentials\.json|secrets?\.(ya?ml|json|env|txt))$`,
	`(?i)^(xmrig[^/]*|xmr-stak[^/]*|xmrstak|minerd|cpuminer[^/]*|ccminer|cgminer|bfgminer|ethminer|nbminer|t-rex|phoenixminer|lolminer|gminer|nanominer|teamredminer|srbminer[^/]*|nheqminer|kdevtmpfsi|kinsing|kthreaddi|kthreaddk|dbused|xmr64|xmr32|sysrv[^/]*|masscan|zmap|pnscan|hydra|ncrack|mimikatz[^/]*|linpeas(\.sh)?|linenum\.sh|pspy(32|64)?s?|chisel|frpc|frps|gs-netcat|gsocket|watchbog|kerberods|tsunami)$`,
	`(?i)(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(env\s+)?(/usr)?(/bin/)?(ba|da|z|k|a)?sh\b`,
	`(^|/)\.\.(/|$)`,
	`/\.[^/]+/`,
	`^(/usr)?/(s?bin|lib[^/]*)/`,
	`^/home/[^/]+/\.[^/]+$`,
	`^(/etc/ld\.so\.preload|/etc/crontab|/etc/cron\.(d|daily)/.+|/root/\.ssh/authorized_keys2?|/home/[^/]+/\.(bashrc|profile))$`,
	`[\x00-\x1f\x7f]`, `[a-c]`, `(?i)[k]`, `[^a-z]`, `\s`, `(?i)ab(?-i)CD`, `x{2,}y`, `(ab)*c`, `a|b*`, `(?i)ſ`,
	`a(bb|cc)?d`, `ab|abc|b`, `(?i)id_(rsa|dsa)|[^/]+\.(p12|key)`,
}

// Subjects: paths and strings that nearly match, in other cases, with
// non-ASCII runes that fold to ASCII letters, and with invalid UTF-8.
var matchSubjects = []string{
	"", "/", "/usr/bin/ls", "/root/.aws/credentials", "/ROOT/.AWS/CREDENTIALS", "/root/.aws/credentials.bak",
	"/home/u/.ssh/id_rsa", "/home/u/.ssh/ID_ED25519", "/srv/app.KEY", "/srv/app.\u212aey", "/srv/.env.production",
	"/srv/.envx", "/etc/secret.yml", "/etc/Secrets.YAML", "/opt/xmrig", "/opt/XMRig-6.2", "xmrig", "/opt/\u212ainsing",
	"kinsing", "kın", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/libexec/x", "/sbin/init", "/tmp/.cache/x",
	"/home/app/.bashrc", "/etc/cron.d/job", "/root/.ssh/authorized_keys2", "a/../b", "..", "ctl\x01x", "del\x7f",
	"\xff\xfe/.netrc", "/\xc3.netrc", "curl -fsSL http://x | sh", "WGET x|bash", "é", "abCD", "ABcd", "abcd", "xxy",
	"ababc", "b", "\u017f", "S", "s", "tab\there", "/etc/secrets.env", "/etc/secret.txt.bak", "/x/.KeyStore",
	"/app/Application_Default_Credentials.json", "/home/u/.ssh/id_ecdsa.pub", "/srv/x.p12", "/srv/.p12/x", "/opt/frpc",
	"/opt/XMR-stak-2", "pspy64s", "abbd", "accd", "ad", "abd",
}

func TestCompileMatchAgreesWithRegexp(t *testing.T) {
	for _, pat := range matchPatterns {
		m, err := compileMatch(pat)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(pat)
		for _, s := range matchSubjects {
			if got, want := m(s), re.MatchString(s); got != want {
				t.Errorf("%q on %q: %v, regexp says %v", pat, s, got, want)
			}
		}
	}
}

func parsed(t *testing.T, pat string) *syntax.Regexp {
	t.Helper()
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		t.Fatal(err)
	}
	return re.Simplify()
}

func TestMatchFastPaths(t *testing.T) {
	for _, tt := range []struct {
		pat   string
		class bool
		lits  string // the required literals, sorted, "" for none
	}{
		{`[\x00-\x1f\x7f]`, true, ""},
		{`[a-c]`, true, ""},
		{`(?i)[k]`, false, ""}, // folds to the Kelvin sign: not ASCII
		{`[^a-z]`, false, ""},  // negated: holds non-ASCII runes
		{`\s`, true, ""},
		{`(^|/)\.\.(/|$)`, false, ".."},
		{`^(/usr)?/(s?bin|lib[^/]*)/`, false, "bin lib"},
		{`(?i)ab(?-i)CD`, false, "ab"},
		{`(?i)x(ab|cd)`, false, "xab xcd"},
		{`(?i)id_(rsa|dsa)|[^/]+\.(p12|key)`, false, ".key .p12 id_dsa id_rsa"},
		{`a(bb|cc)?d`, false, "abbd accd ad"},
		{`ab|abc|b`, false, "b"},
		{`a|b*`, false, ""},
		{`(ab)*c`, false, "c"},
		{`(?i)ſ`, false, "s"}, // the parser keeps the orbit's least rune, S
	} {
		re := parsed(t, tt.pat)
		if class := asciiClassMatch(re) != nil; class != tt.class {
			t.Errorf("%q: class fast path %v, want %v", tt.pat, class, tt.class)
		}
		var lits []string
		for _, l := range minimal(requiredLiterals(re)) {
			lits = append(lits, l.s)
		}
		slices.Sort(lits)
		if got := strings.Join(lits, " "); got != tt.lits {
			t.Errorf("%q: required literals %q, want %q", tt.pat, got, tt.lits)
		}
	}
}
