// Package hostileimage builds, for tests, an image whose every string a
// report shows is hostile: file names, history steps, user, entrypoint and
// labels carry HTML and script injections, javascript: URLs, ANSI escapes,
// right-to-left overrides and bytes that are not UTF-8, and the image makes
// findings (setuid, hidden, secret, unsafe link) at those names.
package hostileimage

import (
	"archive/tar"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/auditor-dev/auditor/internal/testlayer"
)

// Payloads are the hostile strings, each of which must never act in a
// report: no element, attribute or URL made of one, no control or bidi
// character shown raw.
var Payloads = []string{
	`<script>alert(1)</script>`,
	`<img src=x onerror=alert(2)>`,
	`"><svg onload=alert(3)>`,
	`<a href="javascript:alert(4)">click</a>`,
	"\x1b[31mRED\x1b[0m\x1b]8;;http://evil.example/\x07link\x1b]8;;\x07",
	"evil\u202egnp.exe",
	"\u2066isolate\u2069\u200b\xff\xfe",
}

// Created is the image's creation time, fixed so reports of it are stable.
var Created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type entry struct {
	name string
	typ  byte
	mode int64
	body string
	link string
}

func layer(t testing.TB, ents ...entry) v1.Layer {
	t.Helper()
	tls := make([]testlayer.Entry, len(ents))
	for i, e := range ents {
		tls[i] = testlayer.Entry{Name: e.name, Type: e.typ, Mode: e.mode, Body: e.body, Link: e.link}
	}
	return testlayer.Layer(t, tls...)
}

// Image returns the hostile image.
func Image(t testing.TB) v1.Image {
	t.Helper()
	var base, planted, cleanup []entry
	base = append(base, entry{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\n"},
		entry{name: "usr/bin/sh", mode: 0o755, body: "\x7fELF\x02\x01\x01\x00sh"})
	for i, p := range Payloads {
		dir := "opt/" + p + "/"
		planted = append(planted,
			entry{name: dir + "suid", mode: 0o4755, body: "\x7fELF\x02\x01\x01\x00x"},
			entry{name: dir + "deleted-later", body: "secret notes"},
			entry{name: "tmp/" + p, mode: 0o755, body: "#!/bin/sh\necho " + p + "\n"})
		if i == 0 {
			planted = append(planted,
				entry{name: dir + "aws.env", body: "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"},
				entry{name: dir + "escape", typ: tar.TypeSymlink, link: "../../../../../etc/" + p})
		}
		cleanup = append(cleanup, entry{name: "opt/" + p + "/.wh.deleted-later"})
	}
	img := empty.Image
	steps := []string{
		"/bin/sh -c #(nop) ADD base.tar /",
		"/bin/sh -c " + Payloads[0] + " && curl " + Payloads[3] + " | sh # " + Payloads[4],
		"/bin/sh -c rm " + Payloads[5] + " " + Payloads[1] + " " + Payloads[6],
	}
	for i, l := range []v1.Layer{layer(t, base...), layer(t, planted...), layer(t, cleanup...)} {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: steps[i], Created: v1.Time{Time: Created}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: Created}
	cf.Config.User = Payloads[1]
	cf.Config.Entrypoint = []string{"/tmp/" + Payloads[0], Payloads[5]}
	cf.Config.Cmd = []string{Payloads[4]}
	cf.Config.Labels = map[string]string{Payloads[2]: Payloads[3]}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// Next is Image with one more layer, as a rebuild that adds a finding:
// an executable under /tmp named after every payload at once.
func Next(t testing.TB) v1.Image {
	t.Helper()
	img, err := mutate.Append(Image(t), mutate.Addendum{
		Layer:   layer(t, entry{name: "tmp/" + strings.Join(Payloads, ""), mode: 0o755, body: "\x7fELF\x02\x01\x01\x00y"}),
		History: v1.History{CreatedBy: "/bin/sh -c #(nop) COPY " + Payloads[1] + " /tmp/", Created: v1.Time{Time: Created}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Registry starts an in-process registry (go-containerregistry's, over
// loopback HTTP) for the test and returns its host:port.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Push pushes img to registry (host[:port]) as hostile/payloads:TAG and
// returns that reference.
func Push(t testing.TB, registry, tag string, img v1.Image) string {
	t.Helper()
	ref := registry + "/hostile/payloads:" + tag
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}
