package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/internal/pgtest"
	"github.com/auditor-dev/auditor/internal/viewdump"
	"github.com/auditor-dev/auditor/postgres"
)

// store is what both back ends do that the test drives.
type store interface {
	PutLayer(context.Context, *auditor.Layer) error
	PutImage(context.Context, auditor.Repo, string, *auditor.Image) error
	PutIndex(context.Context, *auditor.ImageIndex) error
	PutTag(context.Context, auditor.Repo, string, string) error
	PutArtifact(context.Context, string, string) error
	TagsListed(context.Context, auditor.Repo, []string) error
	BeginScan(context.Context, string, string) (int64, error)
	AddScanError(context.Context, int64, auditor.ScanError) error
	FinishScan(context.Context, int64, string, auditor.ScanStats) error
}

func digest(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

// clock is the time both back ends record: fill advances it a second
// between its steps, so that both record the same times.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }
func (c *clock) tick()          { c.t = c.t.Add(time.Second) }

// fill writes the same corpus into s: layers with symlinked directories
// written through, whiteouts, an opaque directory, hardlinks whose headers
// differ from their file, names that are not valid UTF-8 or hold the
// escape range, content matches, configuration files, captures; images
// over them (one listing a layer twice), an index, tags that move and go.
func fill(t *testing.T, s store, c *clock) {
	t.Helper()
	ctx := context.Background()
	mt := time.Unix(1700000000, 0)
	script := []byte("#!/bin/sh\n")
	sum := sha256.Sum256(script)
	scriptSum := hex.EncodeToString(sum[:])
	bad := "/etc/\xff\xfename"        // not UTF-8
	pua := "/srv/\uf701private\u00e9" // the escape range, and an accent
	cfgData := func(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }
	layers := []*auditor.Layer{
		{Digest: digest('a'), DiffID: digest('1'), MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Compression: "gzip", Size: 100, UncompressedSize: 1000,
			Entries: []auditor.Entry{
				{Path: "/usr", Type: auditor.TypeDir, Mode: 0o755},
				{Path: "/usr/bin", Type: auditor.TypeDir, Mode: 0o755},
				{Path: "/bin", Type: auditor.TypeSymlink, Linkname: "usr/bin", Mode: 0o777},
				{Path: "/usr/bin/ls", Type: auditor.TypeFile, Mode: 0o755, Size: 10, SHA256: strings.Repeat("1", 64), Kind: auditor.KindELF, ModTime: mt, Uname: "root"},
				{Path: "/usr/bin/passwd", Type: auditor.TypeFile, Mode: 0o4755, Size: 20, SHA256: strings.Repeat("2", 64), Kind: auditor.KindELF, Capabilities: "cap_net_raw=ep"},
				{Path: "/usr/bin/pw2", Type: auditor.TypeHardlink, Linkname: "usr/bin/passwd", Mode: 0o755, UID: 7},
				{Path: "/etc", Type: auditor.TypeDir, Mode: 0o755},
				{Path: "/etc/passwd", Type: auditor.TypeFile, Mode: 0o644, Size: 30, SHA256: strings.Repeat("3", 64), Kind: auditor.KindOther},
				{Path: bad, RawName: "etc/\xff\xfename", Type: auditor.TypeFile, Mode: 0o600, Size: 1, SHA256: strings.Repeat("4", 64), Kind: auditor.KindOther, Uname: "u\xff"},
				{Path: pua, Type: auditor.TypeFile, Mode: 0o644, Size: 0, SHA256: strings.Repeat("5", 64), Kind: auditor.KindEmpty},
				{Path: "/opt/app", Type: auditor.TypeDir, Mode: 0o755},
				{Path: "/opt/app/a", Type: auditor.TypeFile, Mode: 0o644, Size: int64(len(script)), SHA256: scriptSum, Kind: auditor.KindScript},
				{Path: "/dev/null", Type: auditor.TypeChar, Linkname: "1:3", Mode: 0o666},
			},
			Scans: []auditor.LayerScan{{Scanner: auditor.ContentScanner, Version: "1"}, {Scanner: auditor.ConfigScanner, Version: "2"}},
		},
		{Digest: digest('b'), Compression: "none", Size: 50, UncompressedSize: 500,
			Entries: []auditor.Entry{
				{Path: "/bin/tool", RawName: "bin/tool", Type: auditor.TypeFile, Mode: 0o755, Size: 5, SHA256: strings.Repeat("7", 64), Kind: auditor.KindELF},
				{Path: "/usr/bin/ls", Type: auditor.TypeWhiteout, RawName: "usr/bin/.wh.ls"},
				{Path: "/opt/app", Type: auditor.TypeOpaque, RawName: "opt/app/.wh..wh..opq"},
				{Path: "/opt/app/b", Type: auditor.TypeFile, Mode: 0o644, Size: 3, SHA256: strings.Repeat("8", 64), Kind: auditor.KindOther},
				{Path: "/etc/passwd", Type: auditor.TypeFile, Mode: 0o666, Size: 31, SHA256: strings.Repeat("9", 64), Kind: auditor.KindOther}, // writable by all
				{Path: "/usr/local/bin", Type: auditor.TypeDir, Mode: 0o755, UID: 1000},                                                        // owned by an account
				{Path: "/etc/hard", Type: auditor.TypeHardlink, Linkname: "etc/passwd", Mode: 0o600},
				{Path: "/etc/hosts", Type: auditor.TypeFile, Mode: 0o644, Size: 34, SHA256: strings.Repeat("a", 64), Kind: auditor.KindOther},
				{Path: "/etc/profile.d/a.sh", Type: auditor.TypeFile, Mode: 0o644, Size: 49, SHA256: strings.Repeat("b", 64), Kind: auditor.KindScript},
				{Path: "/usr/lib/python3/dist-packages/x.pth", Type: auditor.TypeFile, Mode: 0o644, Size: 27, SHA256: strings.Repeat("c", 64), Kind: auditor.KindOther},
				// Issue 16's authentication techniques: seq 10 to 20 (digests in
				// ascending order, as those above, so both back ends number the
				// contents alike).
				{Path: "/etc/pam.d/su", Type: auditor.TypeFile, Mode: 0o644, Size: 44, SHA256: strings.Repeat("d0", 32), Kind: auditor.KindOther},
				{Path: "/etc/sudoers.d/ops", Type: auditor.TypeFile, Mode: 0o440, Size: 90, SHA256: strings.Repeat("d1", 32), Kind: auditor.KindOther},
				{Path: "/etc/sudo.conf", Type: auditor.TypeFile, Mode: 0o644, Size: 47, SHA256: strings.Repeat("d2", 32), Kind: auditor.KindOther},
				{Path: "/etc/nsswitch.conf", Type: auditor.TypeFile, Mode: 0o644, Size: 20, SHA256: strings.Repeat("d3", 32), Kind: auditor.KindOther},
				{Path: "/usr/lib/libnss_evil.so.2", Type: auditor.TypeFile, Mode: 0o644, Size: 5, SHA256: strings.Repeat("d4", 32), Kind: auditor.KindELF},
				{Path: "/etc/ssh/sshd_config", Type: auditor.TypeFile, Mode: 0o644, Size: 34, SHA256: strings.Repeat("d5", 32), Kind: auditor.KindOther},
				{Path: "/etc/security/pam_env.conf", Type: auditor.TypeFile, Mode: 0o644, Size: 41, SHA256: strings.Repeat("d6", 32), Kind: auditor.KindOther},
				{Path: "/etc/ld.so.conf.d/00-x.conf", Type: auditor.TypeFile, Mode: 0o644, Size: 9, SHA256: strings.Repeat("d7", 32), Kind: auditor.KindOther},
				{Path: "/opt/lib/libc.so.6", Type: auditor.TypeFile, Mode: 0o755, Size: 5, SHA256: strings.Repeat("d8", 32), Kind: auditor.KindELF},
				{Path: "/usr/lib/libc.so.6", Type: auditor.TypeFile, Mode: 0o755, Size: 5, SHA256: strings.Repeat("d9", 32), Kind: auditor.KindELF},
				{Path: "/root/.npmrc", Type: auditor.TypeFile, Mode: 0o600, Size: 21, SHA256: strings.Repeat("da", 32), Kind: auditor.KindOther},
				{Path: "/etc/apt/sources.list", Type: auditor.TypeFile, Mode: 0o644, Size: 46, SHA256: strings.Repeat("db", 32), Kind: auditor.KindOther},
				{Path: "/etc/gitconfig", Type: auditor.TypeFile, Mode: 0o644, Size: 40, SHA256: strings.Repeat("dc", 32), Kind: auditor.KindOther},
				{Path: "/root/.ssh/config", Type: auditor.TypeFile, Mode: 0o600, Size: 60, SHA256: strings.Repeat("dd", 32), Kind: auditor.KindOther},
				{Path: "/etc/sysctl.d/60-x.conf", Type: auditor.TypeFile, Mode: 0o644, Size: 30, SHA256: strings.Repeat("de", 32), Kind: auditor.KindOther},
			},
			Scans: []auditor.LayerScan{{Scanner: auditor.ContentScanner, Version: "1"}, {Scanner: auditor.ConfigScanner, Version: "2", Error: "bad \xff thing"}},
		},
		{Digest: digest('c'), Compression: "zstd", Size: 1, UncompressedSize: 1024, Entries: nil},
	}
	layers[0].ContentMatches = []auditor.ContentMatch{{Seq: 3, PatternID: "packer-upx", Offset: 236, Excerpt: "UPX!"},
		{Seq: 11, PatternID: "aws-access-key-id", Offset: 4, Excerpt: "AKIA…\xff"},
		{Seq: 11, PatternID: "attack-container-escape", Offset: 40, Excerpt: "docker run --privileged -v /:/h"},
		{Seq: 11, PatternID: "attack-container-escape", Offset: 20, Excerpt: "nsenter --target 1 --mount"},
		{Seq: 11, PatternID: "attack-impair-defences", Offset: 60, Excerpt: "chattr +i /root/.ssh/authorized_keys"},
		{Seq: 11, PatternID: "attack-kill-rivals", Offset: 80, Excerpt: "pkill -f xmrig"},
		{Seq: 11, PatternID: "attack-miner-tuning", Offset: 100, Excerpt: "wrmsr -a 0x1a4 0xf"},
		{Seq: 11, PatternID: "attack-plant-access", Offset: 120, Excerpt: "useradd -o -u 0 sysadm"},
		{Seq: 11, PatternID: "attack-lateral-spread", Offset: 140, Excerpt: "redis-cli -h $h config set dir /var/spool/cron/"},
		{Seq: 11, PatternID: "attack-hide-process", Offset: 160, Excerpt: "mount --bind /var/lib/.e /proc/$pid"},
		{Seq: 11, PatternID: "attack-exec-downloaded", Offset: 180, Excerpt: "exec(urlopen(u).read())"},
		{Seq: 11, PatternID: "attack-tunnel", Offset: 200, Excerpt: "R:socks"},
		{Seq: 11, PatternID: "attack-reverse-shell-lines", Offset: 210, Excerpt: "create_connection((h, 1)).os.dup2("},
		{Seq: 11, PatternID: "indirect-webshell-php", Offset: 220, Excerpt: "$_REQUEST['q'];.if ($c) { echo shell_exec($c)"}}
	layers[0].ContentDropped = []auditor.ContentDrop{{Seq: 11, Dropped: 3}}
	layers[1].Configs = []auditor.ConfigFile{{Seq: 4, Kind: "passwd", Version: "1", Lines: []string{"root:x:0:0:root:/root:/bin/bash", "bad:\xff"},
		Rows: []auditor.ConfigRow{{Type: "account", Line: 1, A: "root", B: "x", D: "/root", E: "/bin/bash", F: "root", N1: 0, N2: 0}},
		Data: []byte("root:x:0:0:root:/root:/bin/bash\nbad:\xff\n")},
		{Seq: 7, Kind: "hosts", Version: "1", Lines: []string{"127.0.0.1 update.aegis.aliyun.com"},
			Rows: []auditor.ConfigRow{{Type: "host", Line: 1, A: "127.0.0.1", B: "update.aegis.aliyun.com"}},
			Data: []byte("127.0.0.1 update.aegis.aliyun.com\n")},
		{Seq: 8, Kind: "shellrc", Version: "1", Lines: []string{"alias sudo='/tmp/.s'", "trap '/dev/shm/.k' DEBUG", "export BASH_ENV=/var/tmp/.e", `eval "$(echo aWQK | base64 -d)"`, "export LD_AUDIT=/tmp/.a.so"},
			Data: []byte("alias sudo='/tmp/.s'\ntrap '/dev/shm/.k' DEBUG\nexport BASH_ENV=/var/tmp/.e\neval \"$(echo aWQK | base64 -d)\"\nexport LD_AUDIT=/tmp/.a.so\n")},
		{Seq: 9, Kind: "autostart", Version: "1", Lines: []string{"import os; os.system('id')"}, Data: []byte("import os; os.system('id')\n")},
		{Seq: 10, Kind: "pam", Version: "1", Lines: []string{"auth sufficient pam_wheel.so trust group=staff", "auth [success=1 default=ignore] pam_localuser.so", "auth requisite pam_deny.so"},
			Data: cfgData("auth sufficient pam_wheel.so trust group=staff", "auth [success=1 default=ignore] pam_localuser.so", "auth requisite pam_deny.so"),
			Rows: []auditor.ConfigRow{{Type: "pam", Line: 1, A: "auth", B: "sufficient", C: "pam_wheel.so", D: "trust group=staff"},
				{Type: "pam", Line: 2, A: "auth", B: "[success=1 default=ignore]", C: "pam_localuser.so"},
				{Type: "pam", Line: 3, A: "auth", B: "requisite", C: "pam_deny.so"}}},
		{Seq: 11, Kind: "sudoers", Version: "1", Lines: []string{`Defaults env_keep += "LD_PRELOAD"`, "Cmnd_Alias M = /usr/bin/less", "u ALL=(root) NOPASSWD: M", "d ALL=(root) NOPASSWD: /usr/local/bin/tool"}, Data: cfgData(`Defaults env_keep += "LD_PRELOAD"`, "Cmnd_Alias M = /usr/bin/less", "u ALL=(root) NOPASSWD: M", "d ALL=(root) NOPASSWD: /usr/local/bin/tool"),
			Rows: []auditor.ConfigRow{{Type: "sudo-alias", Line: 2, A: "Cmnd_Alias", B: "M", D: "/usr/bin/less"},
				{Type: "sudo", Line: 3, A: "u", B: "ALL", C: "(root)", D: "M", N1: 1},
				{Type: "sudo", Line: 4, A: "d", B: "ALL", C: "(root)", D: "/usr/local/bin/tool", N1: 1}}},
		{Seq: 12, Kind: "sudo.conf", Version: "1", Lines: []string{"Plugin sudoers_policy /usr/local/lib/x.so"}, Data: cfgData("Plugin sudoers_policy /usr/local/lib/x.so")},
		{Seq: 13, Kind: "nsswitch.conf", Version: "1", Lines: []string{"passwd: files evil"}, Data: cfgData("passwd: files evil")},
		{Seq: 15, Kind: "sshd_config", Version: "1", Lines: []string{"TrustedUserCAKeys /etc/ssh/ca.pub"}, Data: cfgData("TrustedUserCAKeys /etc/ssh/ca.pub"),
			Rows: []auditor.ConfigRow{{Type: "ssh", Line: 1, A: "trustedusercakeys", B: "/etc/ssh/ca.pub"}}},
		{Seq: 16, Kind: "pam_env", Version: "1", Lines: []string{"LD_PRELOAD DEFAULT=/opt/app/b"}, Data: cfgData("LD_PRELOAD DEFAULT=/opt/app/b")},
		{Seq: 17, Kind: "ld.so.conf", Version: "1", Lines: []string{"/opt/lib"}, Data: cfgData("/opt/lib")},
		{Seq: 20, Kind: "npm", Version: "1", Lines: []string{"registry=https://x/"}, Data: cfgData("registry=https://x/")},
		{Seq: 21, Kind: "apt-list", Version: "1", Lines: []string{"deb http://198.51.100.23/debian bookworm main"},
			Rows: []auditor.ConfigRow{{Type: "source", Line: 1, A: "apt", B: "http://198.51.100.23/debian", C: "http", N2: 1}},
			Data: cfgData("deb http://198.51.100.23/debian bookworm main")},
		{Seq: 22, Kind: "gitconfig", Version: "1", Lines: []string{"[core]", "\tfsmonitor = /usr/local/libexec/h"}, Data: cfgData("[core]", "\tfsmonitor = /usr/local/libexec/h")},
		{Seq: 23, Kind: "ssh_config", Version: "1", Lines: []string{"PermitLocalCommand yes", "LocalCommand sh -c 'curl x'"}, Data: cfgData("PermitLocalCommand yes", "LocalCommand sh -c 'curl x'")},
		{Seq: 24, Kind: "sysctl", Version: "1", Lines: []string{"kernel.core_pattern=|/usr/local/bin/c %p"}, Data: cfgData("kernel.core_pattern=|/usr/local/bin/c %p")}}
	layers[0].Captures = []auditor.Capture{{Seq: 11, Data: script}}
	layers[0].Digests = []auditor.ContentDigests{{SHA256: scriptSum, MD5: strings.Repeat("d", 32), SHA1: strings.Repeat("e", 40)}}
	layers[0].Configs = []auditor.ConfigFile{{Seq: 7, Kind: "passwd", Version: "1", Error: "over 256 KiB"}}
	for _, l := range layers {
		c.tick()
		if err := s.PutLayer(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	repo := auditor.Repo{Registry: "reg.example:5000", Name: "team/app"}
	img := func(c byte, ls ...string) *auditor.Image {
		return &auditor.Image{Digest: digest(c), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 500, ConfigDigest: digest(c + 1),
			Platform: auditor.Platform{OS: "linux", Architecture: "amd64"}, Created: mt, User: "app", Env: []string{"A=\xff", "NODE_OPTIONS=--require /tmp/.h.js", "JAVA_TOOL_OPTIONS=-javaagent:/opt/apm/a.jar", "WALLET=44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"},
			Labels: map[string]string{"k": "v\x00"}, Entrypoint: []string{"/bin/tool"}, Cmd: []string{"perl", "/usr/share/locale/nb/x.mo"}, ExposedPorts: []string{"80/tcp"},
			Healthcheck: &auditor.Healthcheck{Test: []string{"CMD", "true"}, Retries: 3},
			History:     []auditor.History{{Created: mt, CreatedBy: "/bin/sh -c #(nop) USER app"}, {CreatedBy: "RUN x", EmptyLayer: true}, {CreatedBy: "COPY ."}},
			Layers:      ls, LayerMediaTypes: []string{"application/vnd.oci.image.layer.v1.tar+gzip"}}
	}
	c.tick()
	if err := s.PutImage(ctx, repo, "", img('p', digest('a'), digest('b'), digest('c'))); err != nil {
		t.Fatal(err)
	}
	c.tick()
	if err := s.PutImage(ctx, repo, digest('x'), img('q', digest('b'), digest('a'), digest('b'))); err != nil {
		t.Fatal(err)
	}
	if err := s.PutIndex(ctx, &auditor.ImageIndex{Digest: digest('x'), MediaType: "application/vnd.oci.image.index.v1+json", Size: 300,
		Children: []auditor.IndexChild{{Digest: digest('q'), Platform: auditor.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutArtifact(ctx, digest('z'), "application/vnd.dev.cosign.artifact.sig.v1+json"); err != nil {
		t.Fatal(err)
	}
	id, err := s.BeginScan(ctx, "reg.example:5000", "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []struct{ tag, digest string }{{"1.0", digest('p')}, {"latest", digest('p')}, {"multi", digest('x')}, {"latest", digest('q')}, {"old", digest('p')}} {
		c.tick()
		if err := s.PutTag(ctx, repo, tag.tag, tag.digest); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddScanError(ctx, id, auditor.ScanError{Registry: repo.Registry, Repository: repo.Name, Reference: "broken", Message: "manifest \xff unknown"}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishScan(ctx, id, index.ScanErrors, auditor.ScanStats{Tags: 5}); err != nil {
		t.Fatal(err)
	}
	c.tick()
	// A later scan lists the tags without "old": it is gone.
	if _, err := s.BeginScan(ctx, "reg.example:5000", "test"); err != nil {
		t.Fatal(err)
	}
	c.tick()
	if err := s.TagsListed(ctx, repo, []string{"1.0", "latest", "multi"}); err != nil {
		t.Fatal(err)
	}
}

// filledStores returns a SQLite index and a PostgreSQL database (closed
// when the test ends), each filled with the corpus at the same times.
func filledStores(t *testing.T) (*index.DB, *postgres.DB) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.Database(t)
	lite, err := index.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	lc := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	lite.Now = lc.now
	pg, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	pc := &clock{t: lc.t}
	pg.Now = pc.now
	fill(t, lite, lc)
	fill(t, pg, pc)
	return lite, pg
}

// TestViewsMatchSQLite writes one corpus into the SQLite index and into
// PostgreSQL and compares every public view, row for row and byte for
// byte (text that is not valid UTF-8 included).
func TestViewsMatchSQLite(t *testing.T) {
	ctx := context.Background()
	lite, pg := filledStores(t)
	views := viewdump.Public(t, lite.Reader())
	viewdump.Compare(t, views, lite.Reader(), nil, pg.Reader(), postgres.Bytes)
	// The corpus reaches the views that matter (not vacuous).
	for _, v := range []string{"image_files", "content_matches", "image_config_lines", "accounts", "tags", "history", "package_db_files", "content_digests", "path_names", "image_sizes", "tag_changes"} {
		rows, err := viewdump.Dump(ctx, pg.Reader(), v, views[v], postgres.Bytes)
		if err != nil || len(rows) == 0 {
			t.Errorf("view %s: %d rows, %v", v, len(rows), err)
		}
	}
}
