package secconf

import "testing"

// TestShape: files outside the path set are kept by the shape of what sshd,
// sudo and PAM would read in them, and ordinary files of the same look are
// not.
func TestShape(t *testing.T) {
	for body, want := range map[string]Kind{
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw3b0x1cW5hcHBsZXNhdWNl x@y\n":                  KindCandidateKeys,
		"# keys\ncommand=\"/bin/true\",no-pty ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ops\n": KindCandidateKeys,
		"#ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 commented\n":                               KindNone,
		"auth sufficient pam_permit.so\n":                                                     KindCandidatePAM,
		"@include common-auth\n":                                                              KindCandidatePAM,
		"backup ALL=(ALL) NOPASSWD: ALL\n":                                                    KindCandidateSudoers,
		"%ops web1,web2 = NOPASSWD: /usr/bin/systemctl\n":                                     KindCandidateSudoers,
		"deploy ALL = ALL\n":                                                                  KindCandidateSudoers,
		"#includedir /opt/.s\n":                                                               KindCandidateSudoers,
		"PermitRootLogin yes\n":                                                               KindCandidateSSHD,
		"authorizedkeysfile=/srv/k/%u\n":                                                      KindCandidateSSHD,
		"# login CA\nTrustedUserCAKeys /usr/share/.ssh/ca.pub\n":                              KindCandidateSSHD,
		"ENV_SUPATH PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\nUMASK 022\n":      KindNone, // login.defs
		"Host *\n  Port 2222\n  User git\n":                                                   KindNone, // ssh_config
		"[global]\nindex-url = https://pypi.org/simple\n":                                     KindNone,
		"#!/bin/sh\necho auth required\n":                                                     KindNone,
		"\x7fELF\x02\x01\x01\x00\x00\x00ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7\n":           KindNone,
		"server_name example.org;\nlisten 80;\n":                                              KindNone,
	} {
		if got := Shape([]byte(body)); got != want {
			t.Errorf("Shape(%q) = %q, want %q", body, got, want)
		}
	}
	if ShapeCandidate("/proc/1/environ", 10) || ShapeCandidate("/opt/x", ShapeMaxSize+1) || !ShapeCandidate("/opt/x", 10) {
		t.Error("ShapeCandidate: wants kernel files, or files over ShapeMaxSize, or not a small file")
	}
	// A candidate is parsed with its base kind's parser.
	f, err := Parse(KindCandidateSudoers, "x", []byte("backup ALL=(ALL) NOPASSWD: ALL\n"), DefaultLimits)
	if err != nil || len(f.Sudo) != 1 || !f.Sudo[0].NoPasswd {
		t.Errorf("candidate sudoers: %+v, %v", f, err)
	}
}
