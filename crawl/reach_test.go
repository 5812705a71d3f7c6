package crawl_test

import (
	"io"
	"log"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor/crawl"
)

// TestHTTPTarget: a registry that is not on loopback is spoken to in HTTPS
// only, unless the target says http:// (or its settings say insecure).
// The registry listens on this machine's first non-loopback IPv4 address.
func TestHTTPTarget(t *testing.T) {
	var ip string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			ip = n.IP.String()
			break
		}
	}
	if ip == "" {
		t.Skip("no non-loopback IPv4 address on this machine to serve plain HTTP from")
	}
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	reg := l.Addr().String()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg+"/team/app:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	st, errs := scanInto(t, tempDB(t), crawl.Options{}, reg+"/team/app:1")
	if len(errs) != 1 || st.Images != 0 || !strings.Contains(errorsSay(errs), "HTTPS") {
		t.Errorf("scan of %s without http://: %q, %d images; want HTTPS only, failing", reg, errorsSay(errs), st.Images)
	}
	st, errs = scanInto(t, tempDB(t), crawl.Options{}, "http://"+reg+"/team/app:1")
	if len(errs) != 0 || st.Images != 1 {
		t.Errorf("scan of http://%s: %q, %d images; want the image", reg, errorsSay(errs), st.Images)
	}
}

// TestRefusedFirstContact: a registry that refuses the very first
// connection (nothing listens on that port) fails at once, with a message
// naming it and the cause, not after the retries meant for a registry that
// drops connections mid-scan, nor as a catalog problem.
func TestRefusedFirstContact(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close() // nothing listens there now
	opts := crawl.Options{Retry: crawl.Retry{Attempts: 4, Backoff: 10 * time.Second}}
	for _, target := range []string{host, host + "/team/app:1"} {
		start := time.Now()
		st, errs := scanInto(t, tempDB(t), opts, target)
		msg := errorsSay(errs)
		if d := time.Since(start); d >= opts.Retry.Backoff {
			t.Errorf("scan of %s took %s: it waited for retries", target, d)
		}
		if len(errs) != 1 || !strings.Contains(msg, host+" refused the connection") || strings.Contains(msg, "catalog") ||
			st.Answered != 0 || st.Unanswered != 1 {
			t.Errorf("scan of %s: %q, answered %d, unanswered %d", target, msg, st.Answered, st.Unanswered)
		}
	}
}
