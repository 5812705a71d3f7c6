package queries

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/queries/querytest"
)

// linkedIndex holds l.test/app:1 of two layers: the base has /usr/bin/ls,
// bin -> usr/bin and /etc/app.conf (with no entry for /etc); the top writes
// bin/ls, which extraction writes to /usr/bin/ls; a third layer has
// /opt/ls, a hardlink to /usr/bin/ls.
func linkedIndex(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "links.db")
	db, err := index.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	file := func(p string, c byte) auditor.Entry {
		return auditor.Entry{Path: p, Type: auditor.TypeFile, Mode: 0o755, Size: 10, SHA256: strings.Repeat(string(c), 64), Kind: auditor.KindELF}
	}
	base, top, third := querytest.Digest("ba5e", '1'), querytest.Digest("70b", '2'), querytest.Digest("3d", '4')
	must(db.PutLayer(ctx, &auditor.Layer{Digest: base, Compression: "gzip", Entries: []auditor.Entry{
		{Path: "/usr", Type: auditor.TypeDir, Mode: 0o755, Kind: auditor.KindNone}, {Path: "/usr/bin", Type: auditor.TypeDir, Mode: 0o755, Kind: auditor.KindNone},
		file("/usr/bin/ls", 'a'), {Path: "/bin", Type: auditor.TypeSymlink, Linkname: "usr/bin", Mode: 0o777, Kind: auditor.KindNone},
		file("/etc/app.conf", 'c'),
	}}))
	must(db.PutLayer(ctx, &auditor.Layer{Digest: top, Compression: "gzip", Entries: []auditor.Entry{file("/bin/ls", 'b')}}))
	must(db.PutLayer(ctx, &auditor.Layer{Digest: third, Compression: "gzip", Entries: []auditor.Entry{
		{Path: "/opt/ls", Type: auditor.TypeHardlink, Linkname: "usr/bin/ls", Mode: 0o755, Kind: auditor.KindNone}}}))
	repo := auditor.Repo{Registry: "l.test", Name: "app"}
	img := querytest.Digest("1111", '3')
	must(db.PutTag(ctx, repo, "1", img))
	must(db.PutImage(ctx, repo, "", &auditor.Image{Digest: img, MediaType: "application/vnd.oci.image.manifest.v1+json",
		Platform: auditor.Platform{OS: "linux", Architecture: "amd64"}, Layers: []string{base, top, third}}))
	return path
}

// TestWrittenThroughLink: ls and cat show the file a later layer wrote
// through a symlinked directory at the path it lands at, as the runtime
// sees it; cat reads it from the tar entry that holds it, and a hardlink
// to it, in a later layer, from that entry too.
func TestWrittenThroughLink(t *testing.T) {
	ctx := context.Background()
	db := open(t, linkedIndex(t))
	im := resolve(t, db, "l.test/app:1", "")
	es, err := Entries(ctx, db, im, "/usr/bin", false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		sum := e.SHA256.V
		if sum != "" {
			sum = sum[:1]
		}
		got = append(got, e.Path+" "+sum+" "+map[bool]string{true: "visible", false: "hidden"}[e.Visible])
	}
	if want := "/usr/bin  visible|/usr/bin/ls a hidden|/usr/bin/ls b visible"; strings.Join(got, "|") != want {
		t.Errorf("ls /usr/bin: %q, want %q", got, want)
	}
	for _, p := range []string{"/usr/bin/ls", "/bin/ls"} {
		f, err := Locate(ctx, db, im, p, -1)
		if err != nil || f.Layer != 1 || f.DataPath != "/bin/ls" || f.SHA256 != strings.Repeat("b", 64) {
			t.Errorf("Locate(%s) = %+v, %v; want layer 1's entry, at /bin/ls in its tar", p, f, err)
		}
	}
	// A hardlink to a lower layer's file is read from that layer.
	if f, err := Locate(ctx, db, im, "/opt/ls", -1); err != nil || f.Layer != 1 || f.DataPath != "/bin/ls" || f.Size != 10 {
		t.Errorf("Locate(/opt/ls) = %+v, %v; want layer 1's /bin/ls", f, err)
	}
	// No layer has an entry for /etc: it is a directory all the same.
	if f, err := Locate(ctx, db, im, "/etc/app.conf", -1); err != nil || f.SHA256 != strings.Repeat("c", 64) {
		t.Errorf("Locate(/etc/app.conf) = %+v, %v", f, err)
	}
}
