package crawl_test

import (
	"io"
	"log"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

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
