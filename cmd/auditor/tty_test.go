//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal of 40x120; it skips the test where the
// machine has none.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}); err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TestScanOnTerminalWithBrokenLayer runs a scan on a terminal (progress
// bars) of an image whose second layer is not a tar: fewer layers are read
// than there were to read, and the scan must still end, with its summary
// and exit code 3, instead of waiting for the bars to fill.
func TestScanOnTerminalWithBrokenLayer(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	reg := strings.TrimPrefix(srv.URL, "http://")
	good := map[string][]byte{"etc/os-release": []byte("ID=test\n")}
	pushLayers(t, reg+"/team/good:1", good)
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte("\x1f\x8b not a gzip stream at all"), types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg + "/team/broken:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}

	code, screen := ttyScan(t, reg)
	if code != exitScanErrors || !strings.Contains(screen, "errors          1") {
		t.Errorf("exit %d, want %d; screen:\n%s", code, exitScanErrors, screen)
	}
}

// ttyScan runs auditor scan with args on a fresh pseudo-terminal and
// returns its exit status and everything it wrote there.
func ttyScan(t *testing.T, args ...string) (int, string) {
	t.Helper()
	master, tty := openPTY(t)
	cmd := exec.Command(auditorBinary(t), append([]string{"scan", "--db", filepath.Join(t.TempDir(), "a.db")}, args...)...)
	cmd.Dir = t.TempDir() // no config.toml
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var screen bytes.Buffer
	drained := make(chan struct{})
	go func() { io.Copy(&screen, master); close(drained) }()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-waited
		t.Fatal("scan on a terminal did not end within 60 s")
	}
	master.Close()
	<-drained
	return exitCode(err), screen.String()
}

// TestNoProgressOnTerminal: on a terminal, scan shows progress bars; with
// --no-progress none, but the crawler's log lines (kept to errors under the
// bars) are all shown; with --quiet, neither.
func TestNoProgressOnTerminal(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	reg := strings.TrimPrefix(srv.URL, "http://")
	pushLayers(t, reg+"/team/good:1", map[string][]byte{"etc/os-release": []byte("ID=test\n")})

	const bar, logLine = "1 / 1", `msg="indexed image"`
	code, screen := ttyScan(t, reg)
	if code != exitOK || !strings.Contains(screen, bar) || strings.Contains(screen, logLine) {
		t.Errorf("scan on a terminal: exit %d, want bars and no info lines:\n%q", code, screen)
	}
	code, screen = ttyScan(t, "--no-progress", reg)
	if code != exitOK || strings.Contains(screen, bar) || strings.Contains(screen, "\x1b[") || !strings.Contains(screen, logLine) || !strings.Contains(screen, "scan 1: ok") {
		t.Errorf("scan --no-progress on a terminal: exit %d, want log lines and the summary, no bars:\n%q", code, screen)
	}
	code, screen = ttyScan(t, "-q", reg)
	if code != exitOK || strings.Contains(screen, bar) || strings.Contains(screen, logLine) || !strings.Contains(screen, "scan 1: ok") {
		t.Errorf("scan -q on a terminal: exit %d, want the summary alone:\n%q", code, screen)
	}
}
