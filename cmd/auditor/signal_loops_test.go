package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/auditor-dev/auditor/index"
)

// TestSignalStopsEveryLoop interrupts the binary in each place where a
// hostile registry or image can keep a scan busy for ever, once it is
// there: hashing the zeros of a sparse file, reading a blob that trickles
// a byte at a time, paused by a registry's Retry-After, listing a catalog
// whose Link: rel="next" never ends, waiting (--wait) behind another scan,
// and running a rule whose recursive CTE never ends. Each exits within a
// second of SIGINT, 130, with no scan left recorded running.
func TestSignalStopsEveryLoop(t *testing.T) {
	t.Parallel()
	bin := auditorBinary(t)
	var trickled, paused, pages atomic.Int64
	var on atomic.Bool // misbehave (not while the test pushes)
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case !on.Load():
			reg.ServeHTTP(w, r)
		case r.Method == http.MethodGet && strings.HasPrefix(p, "/v2/slow/") && strings.Contains(p, "/blobs/sha256:"):
			// Headers, then one byte every 50 ms for ever: never a stall.
			w.Header().Set("Content-Length", "100000000")
			w.WriteHeader(http.StatusOK)
			for {
				if _, err := w.Write([]byte{0x1f}); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				if strings.HasPrefix(p, "/v2/slow/blob/") {
					trickled.Add(1)
				}
				select {
				case <-r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		case strings.HasPrefix(p, "/v2/slow/paused/manifests/"):
			paused.Add(1)
			w.Header().Set("Retry-After", "240")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case p == "/v2/_catalog" && r.URL.Query().Get("endless") != "":
			pages.Add(1)
			w.Header().Set("Link", fmt.Sprintf(`</v2/_catalog?endless=1&n=1&last=r%d>; rel="next"`, pages.Load()))
			fmt.Fprintf(w, `{"repositories":["endless/r%d"]}`, pages.Load())
		case p == "/v2/_catalog":
			http.Redirect(w, r, "/v2/_catalog?endless=1", http.StatusFound)
		default:
			reg.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, ref := range []string{"slow/blob:v1", "slow/held:v1", "slow/paused:v1", "fast/app:v1"} {
		pushLayers(t, host+"/"+ref, map[string][]byte{"etc/os-release": []byte("ID=" + ref + "\n")})
	}
	on.Store(true)
	work := t.TempDir()
	rulesFile := filepath.Join(work, "endless.toml")
	if err := os.WriteFile(rulesFile, []byte("[[rule]]\nid = \"endless\"\ntitle = \"t\"\nseverity = \"low\"\ndescription = \"d\"\nquery = '''\n"+
		"SELECT (SELECT digest FROM images LIMIT 1) AS image_digest, NULL AS path, NULL AS layer_digest, ("+endlessCTE+") AS detail\n'''\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	held := filepath.Join(work, "held.db") // written by a trickling scan while the --wait one queues

	type phase struct {
		name   string
		config string // config.toml beyond db
		args   []string
		ready  func() bool // the scan is in the loop now
		db     string
	}
	scanning := func(db string) func() bool { return func() bool { return statusCount(db, index.ScanRunning) > 0 } }
	phases := []phase{
		{name: "sparse hashing", config: fmt.Sprintf("[limits]\nmax_layer_bytes = %d\n", int64(1)<<50), args: []string{"oci:" + sparseLayout(t)}},
		{name: "trickling blob", args: []string{host + "/slow/blob:v1"}, ready: func() bool { return trickled.Load() > 2 }},
		{name: "Retry-After pause", args: []string{host + "/slow/paused:v1"}, ready: func() bool { return paused.Load() > 0 }},
		{name: "endless catalog", config: "[limits]\nmax_list_pages = 100000000\n", args: []string{host}, ready: func() bool { return pages.Load() > 20 }},
		{name: "waiting behind a scan", db: held, args: []string{"--wait", host + "/fast/app:v1"}},
		{name: "endless rule", config: fmt.Sprintf("[rules]\ndefaults = false\nfiles = [%q]\n", rulesFile), args: []string{host + "/fast/app:v1"}},
	}
	// The scan the --wait phase queues behind: it holds the lock, reading
	// the trickling blob, until the test ends.
	holder := exec.Command(bin, "scan", "--quiet", "--db", held, host+"/slow/held:v1")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	waitScanRunning(t, held, time.Minute)

	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			dir := t.TempDir()
			db := ph.db
			if db == "" {
				db = filepath.Join(dir, "i.db")
			}
			cfg := filepath.Join(dir, "config.toml")
			if err := os.WriteFile(cfg, []byte(fmt.Sprintf("db = %q\n", db)+ph.config), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, append([]string{"scan", "--quiet", "--config", cfg}, ph.args...)...)
			cmd.Env = append(os.Environ(), "HOME="+dir)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			proc := cmd.Process
			stuck := time.AfterFunc(30*time.Second, func() { proc.Kill() }) // fail, not hang
			defer stuck.Stop()
			ready := ph.ready
			switch {
			case ph.name == "endless rule": // the crawl is over, the rule runs
				ready = func() bool { return statusCount(db, index.ScanOK) > 0 }
			case ph.name == "waiting behind a scan": // nothing to see but time
				started := time.Now()
				ready = func() bool { return time.Since(started) > 1500*time.Millisecond }
			case ready == nil:
				ready = scanning(db)
			}
			deadline := time.Now().Add(time.Minute)
			for !ready() {
				if time.Now().After(deadline) {
					proc.Kill()
					cmd.Wait()
					t.Fatalf("never got there:\n%s", out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond) // well inside the loop
			sent := time.Now()
			if err := proc.Signal(syscall.SIGINT); err != nil {
				t.Fatalf("the scan had ended before the signal: %v\n%s", err, out.String())
			}
			err := cmd.Wait()
			took := time.Since(sent)
			t.Logf("stopped %s after SIGINT", took.Round(time.Millisecond))
			if took > time.Second {
				t.Errorf("took %s to stop after SIGINT, want at most 1s", took)
			}
			if c := exitCode(err); c != exitInterrupted {
				t.Errorf("exit %d after SIGINT, want %d:\n%s", c, exitInterrupted, out.String())
			}
			if ph.db == "" && statusCount(db, index.ScanRunning) != 0 {
				t.Errorf("a scan is left recorded running")
			}
		})
	}
}

// statusCount is how many scans of db have status (0 when db cannot be
// read yet).
func statusCount(db, status string) int {
	if _, err := os.Stat(db); err != nil {
		return 0
	}
	d, err := index.OpenReadOnly(context.Background(), db)
	if err != nil {
		return 0
	}
	defer d.Close()
	var n int
	if d.Reader().QueryRow(`SELECT count(*) FROM scans WHERE status = ?`, status).Scan(&n) != nil {
		return 0
	}
	return n
}
