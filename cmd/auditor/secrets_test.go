package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditor-dev/auditor/internal/fleettest"
)

// secureFleet starts this test's own fleet registry with basic auth and TLS
// (registry-up with FLEET_AUTH=1 FLEET_TLS=1), pushes the fleet into it, and
// returns its exports (FLEET_REGISTRY, FLEET_USER, FLEET_PASS, FLEET_CA...).
func secureFleet(t *testing.T) map[string]string {
	t.Helper()
	fleettest.Registry(t) // the fleet tests are on
	shared := fleettest.Dir(t)
	dir := t.TempDir()
	vars, env := registryUp(t, dir, "FLEET_AUTH=1", "FLEET_TLS=1")
	if vars["FLEET_PASS"] == "" || vars["FLEET_CA"] == "" {
		t.Fatalf("registry-up exports %v: want auth and TLS", vars)
	}
	// Two images are enough to carry credentials through every kind of
	// request (an index, manifests, configs, blobs), and quick to push.
	var list []string
	b, err := os.ReadFile(filepath.Join(shared, "images", "fleet.list"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, " library/debian:bookworm ") || strings.Contains(line, " tools/busybox:1.35 ") {
			list = append(list, line)
		}
	}
	if len(list) != 2 {
		t.Fatalf("fleet.list: found %d of the 2 images wanted", len(list))
	}
	listFile := filepath.Join(dir, "fleet.list")
	if err := os.WriteFile(listFile, []byte(strings.Join(list, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fleettest.PushFleet(t, append(env, "FLEET_LIST="+listFile, "FLEET_IMAGES="+filepath.Join(shared, "images")))
	return vars
}

// registryUp starts a fleet registry of the test's own in dir (registry-up
// with extra settings, on a port of its own), stopped when the test ends,
// and returns its exports and the environment with them.
func registryUp(t *testing.T, dir string, extra ...string) (map[string]string, []string) {
	t.Helper()
	shared := fleettest.Dir(t)
	env := append(os.Environ(), append([]string{"FLEET_DIR=" + dir, "FLEET_PORT=" + freePort(t)}, extra...)...)
	up := exec.Command(filepath.Join(shared, "registry-up"))
	up.Env = env
	var stderr bytes.Buffer
	up.Stderr = &stderr
	out, err := up.Output()
	if err != nil {
		t.Fatalf("registry-up: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		down := exec.Command(filepath.Join(shared, "registry-down"))
		down.Env = env
		down.Run()
	})
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			vars[k] = v
			env = append(env, k+"="+v)
		}
	}
	return vars, env
}

// freePort returns a loopback port the kernel just handed out, for a
// registry of a test's own. registry-up's own choice, the first port from
// 5000 that nothing listens on, races every other registry-up of the machine
// (with-fleet of other runs): two find the same port free, and one registry
// then fails to bind it. The kernel gives ports of its ephemeral range
// (32768 and up on Linux), which no registry-up counts up to.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestCredentialsAndTLS scans a fleet registry that wants a password and
// serves TLS from its own CA: with the CA in ca_file the scan works, without
// it the registry is refused, and the password (or its base64 form) appears
// nowhere in what auditor writes: database, WAL, logs, errors.
func TestCredentialsAndTLS(t *testing.T) {
	t.Parallel()
	start := time.Now()
	fleet := secureFleet(t)
	t.Logf("fleet up in %s", time.Since(start))
	reg, user, pass := fleet["FLEET_REGISTRY"], fleet["FLEET_USER"], fleet["FLEET_PASS"]
	secrets := []string{pass, base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)), "wrong-pass-7f3c9"}
	dir := t.TempDir()
	db := filepath.Join(dir, "auth.db")
	writeConfig := func(name, caFile, passEnv string) string {
		p := filepath.Join(dir, name)
		body := fmt.Sprintf("db = %q\n[registries.%q]\nusername_env = \"AUD_TEST_USER\"\npassword_env = %q\nca_file = %q\n",
			db, reg, passEnv, caFile)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(cfg string, args ...string) (string, int) {
		cmd := exec.Command(auditorBinary(t), append([]string{"scan", "--config", cfg}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir, "AUD_TEST_USER="+user, "AUD_TEST_PASS="+pass, "AUD_TEST_WRONG=wrong-pass-7f3c9")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("%v: %s", args, time.Since(start))
		return string(out), exitCode(err)
	}
	var logs strings.Builder

	// Verified TLS with the registry's CA, and the right password.
	out, code := run(writeConfig("ok.toml", fleet["FLEET_CA"], "AUD_TEST_PASS"), reg)
	logs.WriteString(out)
	if code != exitOK {
		t.Fatalf("scan with auth and ca_file: exit %d\n%s", code, out)
	}
	// Errors too: a missing tag, and a wrong password.
	out, _ = run(writeConfig("ok.toml", fleet["FLEET_CA"], "AUD_TEST_PASS"), reg+"/library/debian:no-such-tag")
	logs.WriteString(out)
	out, code = run(writeConfig("wrong.toml", fleet["FLEET_CA"], "AUD_TEST_WRONG"), reg+"/library/debian:bookworm")
	logs.WriteString(out)
	if code == exitOK || !strings.Contains(out, "UNAUTHORIZED") {
		t.Errorf("scan with a wrong password: exit %d\n%s", code, out)
	}

	// Without the CA the registry's certificate is refused.
	out, code = run(writeConfig("noca.toml", "", "AUD_TEST_PASS"), reg+"/library/debian:bookworm")
	logs.WriteString(out)
	if code == exitOK || !strings.Contains(out, "certificate") {
		t.Errorf("scan of a TLS registry without its CA: exit %d, want a certificate error:\n%s", code, out)
	}

	produced := map[string][]byte{"output": []byte(logs.String())}
	files, _ := filepath.Glob(db + "*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		produced[filepath.Base(f)] = b
	}
	if len(produced["auth.db"]) == 0 {
		t.Fatal("no database written")
	}
	for where, b := range produced {
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains the secret %q", where, s)
			}
		}
	}
	// The scan did index the fleet.
	if !strings.Contains(logs.String(), "scan 1: ok") {
		t.Errorf("first scan not ok:\n%s", logs.String())
	}
}
