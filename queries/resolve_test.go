package queries

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/queries/querytest"
)

func TestParseRef(t *testing.T) {
	full := strings.Repeat("ab", 32)
	for _, c := range []struct {
		in   string
		want Ref
		err  bool
	}{
		{in: "reg.example:5000/apps/nginx:1.22", want: Ref{Registry: "reg.example:5000", Repository: "apps/nginx", Tag: "1.22"}},
		{in: "localhost/x", want: Ref{Registry: "localhost", Repository: "x", Tag: "latest"}},
		{in: "apps/nginx", want: Ref{Repository: "apps/nginx", Tag: "latest"}},
		{in: "nginx:1", want: Ref{Repository: "nginx", Tag: "1"}},
		{in: "r.io/a@sha256:" + full, want: Ref{Registry: "r.io", Repository: "a", Digest: "sha256:" + full}},
		{in: "sha256:" + full, want: Ref{Digest: "sha256:" + full}},
		{in: full, want: Ref{Digest: "sha256:" + full}},
		{in: "abcd", want: Ref{Prefix: "sha256:abcd"}},
		{in: "sha256:abc12", want: Ref{Prefix: "sha256:abc12"}},
		{in: "abc", want: Ref{Repository: "abc", Tag: "latest"}},
		// Local inputs: as scanned, and as the index shows them.
		{in: "oci:/srv/layout:busybox:1.35", want: Ref{Registry: "oci", Repository: "/srv/layout", Tag: "busybox:1.35"}},
		{in: "oci:/srv/layout", want: Ref{Registry: "oci", Repository: "/srv/layout", Any: true}},
		{in: "oci//srv/layout:app", want: Ref{Registry: "oci", Repository: "/srv/layout", Tag: "app"}},
		{in: "oci-archive:/a/img.tar:latest", want: Ref{Registry: "oci-archive", Repository: "/a/img.tar", Tag: "latest"}},
		{in: "docker-archive:/a/x:y.tar", want: Ref{Registry: "docker-archive", Repository: "/a/x:y.tar", Any: true}},
		{in: "docker-archive//a/save.tar", want: Ref{Registry: "docker-archive", Repository: "/a/save.tar", Any: true}},
		{in: "oci:", err: true},
		{in: "r.io/a@sha256:abc", err: true},
		{in: "r.io/a:", err: true},
		{in: "r.io/", err: true},
		{in: "", err: true},
	} {
		got, err := ParseRef(c.in)
		if (err != nil) != c.err {
			t.Errorf("ParseRef(%q) error = %v, want error %v", c.in, err, c.err)
			continue
		}
		if !c.err && got != c.want {
			t.Errorf("ParseRef(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestResolveSmall(t *testing.T) {
	db := small(t)
	for _, c := range []struct {
		ref, digest string
		tags        []string
	}{
		{"a.test/app:1.0", querytest.ImageA, []string{"1.0"}},
		{"a.test/app", querytest.ImageC, []string{"2.0", "latest"}}, // latest moved in scan 2
		{"a.test/app:latest", querytest.ImageC, []string{"2.0", "latest"}},
		{"app:2.0", querytest.ImageC, []string{"2.0", "latest"}}, // no registry, unique
		{"b.test/app@" + querytest.ImageB, querytest.ImageB, []string{"1.0"}},
		{"abcd1", querytest.ImageA, []string{"1.0"}},
		{"sha256:c0ffee", querytest.ImageC, []string{"2.0", "latest"}},
		{strings.TrimPrefix(querytest.ImageB, "sha256:"), querytest.ImageB, []string{"1.0"}},
	} {
		im := resolve(t, db, c.ref, "")
		if im.Digest != c.digest || !reflect.DeepEqual(im.Tags, c.tags) {
			t.Errorf("Resolve(%q) = %s %v, want %s %v", c.ref, im.Digest, im.Tags, c.digest, c.tags)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	ctx := context.Background()
	db := small(t)
	for _, c := range []struct {
		ref      string
		want     error
		mentions []string
	}{
		{"abcd", ErrAmbiguous, []string{"a.test/app@" + querytest.ImageA, "b.test/app@" + querytest.ImageB}},
		{"app:1.0", ErrAmbiguous, []string{"a.test/app@", "b.test/app@"}},
		{"a.test/app@" + querytest.ImageB, ErrUnknownImage, []string{"a.test/app@" + querytest.ImageB}},
		{"a.test/nope:1", ErrUnknownImage, []string{"a.test/nope:1", "auditor images"}},
		{"ffff", ErrUnknownImage, []string{"ffff"}},
	} {
		_, err := Resolve(ctx, db, c.ref, "")
		if !errors.Is(err, c.want) {
			t.Errorf("Resolve(%q) = %v, want %v", c.ref, err, c.want)
			continue
		}
		for _, m := range c.mentions {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("Resolve(%q) error %q does not mention %q", c.ref, err, m)
			}
		}
	}
}

func TestResolvePlatforms(t *testing.T) {
	ctx := context.Background()
	db := fleet(t)
	const (
		amd64 = "sha256:8b39943cae12782363a4acec7ee14227990b99dd5c668fba4e54d075967171aa"
		arm64 = "sha256:c62fd902cc4ea6eb4fbc2e787c7018ba7a92ee6dd227ab835f7e3efde7426cac"
	)
	_, err := Resolve(ctx, db, "tools/busybox:1.35", "")
	if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") || !strings.Contains(err.Error(), "--platform") {
		t.Errorf("multi-platform tag without --platform: %v", err)
	}
	for _, c := range []struct{ ref, platform, want string }{
		{"tools/busybox:1.35", "linux/amd64", amd64},
		{"tools/busybox:1.35", "linux/arm64", arm64},
		{"tools/busybox:1.35", "linux/arm64/v8", arm64}, // the config leaves v8 implied
		{querytest.Registry + "/tools/busybox:1.35", "linux/arm64", arm64},
		{"1ff233cf", "linux/arm64", arm64}, // the index digest's prefix
		{"tools/busybox:1.35-zstd", "", "sha256:de4ad48b7935006436fbc6acf406d230bfa20c7f34936a0ac1d4327d4b1bd2ce"},
	} {
		if im := resolve(t, db, c.ref, c.platform); im.Digest != c.want {
			t.Errorf("Resolve(%q, %q) = %s, want %s", c.ref, c.platform, im.Digest, c.want)
		}
	}
	_, err = Resolve(ctx, db, "tools/busybox:1.35", "linux/s390x")
	if !errors.Is(err, ErrUnknownImage) || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
		t.Errorf("absent platform: %v", err)
	}
	if _, err := Resolve(ctx, db, "tools/busybox:1.35", "linux/"); err == nil {
		t.Error("bad --platform accepted")
	}
}
