package crawl

import (
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	good := map[string]Target{
		"127.0.0.1:5000":                        {Registry: "127.0.0.1:5000"},
		"127.0.0.1:5000/":                       {Registry: "127.0.0.1:5000"},
		"localhost/apps/nginx":                  {Registry: "localhost", Repository: "apps/nginx"},
		"127.0.0.1:5000/apps/nginx:1.22":        {Registry: "127.0.0.1:5000", Repository: "apps/nginx", Tag: "1.22"},
		"registry.example.com/library/debian":   {Registry: "registry.example.com", Repository: "library/debian"},
		"r.example.com/a@sha256:" + sixtyFour0s: {Registry: "r.example.com", Repository: "a", Digest: "sha256:" + sixtyFour0s},
		"docker-archive:/tmp/x:y.tar":           {Source: "docker-archive", Path: "/tmp/x:y.tar"},
		"oci:images/oci":                        {Source: "oci", Path: "images/oci"},
		"oci:/srv/oci:redis-7.0":                {Source: "oci", Path: "/srv/oci", Tag: "redis-7.0"},
		"oci-archive:img.tar:latest":            {Source: "oci-archive", Path: "img.tar", Tag: "latest"},
		"oci:lay:busybox:1.35":                  {Source: "oci", Path: "lay", Tag: "busybox:1.35"},
		"oci-archive:a.tar:reg.example/app:1":   {Source: "oci-archive", Path: "a.tar", Tag: "reg.example/app:1"},
		"http://127.0.0.1:5000/apps/nginx:1.22": {Registry: "127.0.0.1:5000", Repository: "apps/nginx", Tag: "1.22", PlainHTTP: true},
		"http://registry.lan:5000":              {Registry: "registry.lan:5000", PlainHTTP: true},
		"https://registry.example.com/a":        {Registry: "registry.example.com", Repository: "a"},
	}
	for in, want := range good {
		got, err := ParseTarget(in)
		if err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	// A transport auditor does not read is refused as such, never taken
	// for a host called "docker" or "http".
	for _, in := range []string{"docker://registry.example.com/a:1", "dir:/tmp/image", "containers-storage:nginx", "http:/x", "ftp://r.example.com/a", "https://docker://x"} {
		if got, err := ParseTarget(in); err == nil || !strings.Contains(err.Error(), "unknown transport") {
			t.Errorf("ParseTarget(%q) = %+v, %v; want an unknown transport error", in, got, err)
		}
	}
	if got, _ := ParseTarget("http://127.0.0.1:5000/a:1"); got.String() != "http://127.0.0.1:5000/a:1" {
		t.Errorf("String() = %q, want the http:// kept", got.String())
	}
	for _, in := range []string{"", "http://", "nginx", "nginx:1.22", "127.0.0.1:5000/Bad/Upper", "r.example.com/a@sha256:short", "r.example.com/a:bad tag", "oci:", "docker-archive:"} {
		if got, err := ParseTarget(in); err == nil {
			t.Errorf("ParseTarget(%q) = %+v, want an error", in, got)
		}
	}
}

const sixtyFour0s = "0000000000000000000000000000000000000000000000000000000000000000"
