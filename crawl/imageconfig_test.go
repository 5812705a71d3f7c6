package crawl_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/internal/indextest"
)

// TestImageConfigStored: the healthcheck, onbuild, shell, stop signal and
// labels of an image config reach the images view, and the history view
// gives the USER in effect at each step (empty before the first USER step).
func TestImageConfigStored(t *testing.T) {
	reg := memRegistry(t)
	l1, _ := random.Layer(256, types.DockerLayer)
	l2, _ := random.Layer(256, types.DockerLayer)
	img, err := mutate.Append(empty.Image,
		mutate.Addendum{Layer: l1, History: v1.History{CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / "}},
		mutate.Addendum{History: v1.History{CreatedBy: "USER app", EmptyLayer: true}},
		mutate.Addendum{Layer: l2, History: v1.History{CreatedBy: "RUN /bin/sh -c echo USER root # buildkit"}},
		mutate.Addendum{History: v1.History{CreatedBy: "/bin/sh -c #(nop)  USER [root]", EmptyLayer: true}})
	if err != nil {
		t.Fatal(err)
	}
	img = withConfig(t, img, func(cf *v1.ConfigFile) {
		cf.Config.User = "root"
		cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"},
			Interval: 30 * time.Second, Timeout: 5 * time.Second, Retries: 3}
		cf.Config.OnBuild = []string{"COPY . /src", "RUN make"}
		cf.Config.Shell = []string{"/bin/bash", "-o", "pipefail", "-c"}
		cf.Config.StopSignal = "SIGQUIT"
		cf.Config.Labels = map[string]string{"org.opencontainers.image.source": "https://example.com/x"}
	})
	push(t, reg+"/cfg/app:v1", img)
	res := scan(t, crawl.Options{}, reg+"/cfg/app:v1")
	if len(res.errs) > 0 {
		t.Fatal(res.messages())
	}
	got := strings.Join(res.strings(t, `SELECT healthcheck || ' ' || onbuild || ' ' || shell || ' ' || stop_signal || ' ' || labels FROM images`), "\n")
	want := `{"Test":["CMD-SHELL","curl -f http://localhost/ || exit 1"],"Interval":30000000000,"Timeout":5000000000,"Retries":3}` +
		` ["COPY . /src","RUN make"] ["/bin/bash","-o","pipefail","-c"] SIGQUIT {"org.opencontainers.image.source":"https://example.com/x"}`
	if got != want {
		t.Errorf("images:\n%s\nwant\n%s", got, want)
	}
	if g, w := strings.Join(res.strings(t, `SELECT position || ' ' || quote(user) FROM history ORDER BY position`), ", "), "0 '', 1 'app', 2 'app', 3 'root'"; g != w {
		t.Errorf("history users: %s, want %s", g, w)
	}
}

// TestConfigReadAgain: an image indexed before the index held the whole
// config (config_version NULL, the columns NULL) has its config read again
// by the next scan, and only its config: its layers are not fetched; the
// scan after that fetches no blob.
func TestConfigReadAgain(t *testing.T) {
	reg := memRegistry(t)
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	img = withConfig(t, img, func(cf *v1.ConfigFile) { cf.Config.OnBuild = []string{"RUN make"} })
	push(t, reg+"/old/app:v1", img)
	db := tempDB(t)
	if _, errs := scanInto(t, db, crawl.Options{}, reg+"/old/app:v1"); len(errs) > 0 {
		t.Fatal(errs)
	}
	raw, err := sql.Open("sqlite", "file:"+db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE manifests SET onbuild = NULL, config_version = NULL`); err != nil {
		t.Fatal(err)
	}
	onbuild := func() string {
		t.Helper()
		return strings.Join(indextest.Strings(t, db.Reader(), `SELECT COALESCE(onbuild, 'NULL') FROM images`), " ")
	}
	if g := onbuild(); g != "NULL" {
		t.Fatalf("onbuild before the rescan: %s", g)
	}
	for i, want := range []int{1, 0} {
		var ct countingTransport
		if _, errs := scanInto(t, db, crawl.Options{Transport: &ct}, reg+"/old/app:v1"); len(errs) > 0 {
			t.Fatal(errs)
		}
		if g := ct.counts["GET blob"]; g != want {
			t.Errorf("rescan %d: %d blob GETs, want %d (the config once, no layer): %v", i+1, g, want, ct.counts)
		}
		if g := onbuild(); g != `["RUN make"]` {
			t.Errorf("rescan %d: onbuild %s", i+1, g)
		}
	}
}

// withConfig is img with its config changed by edit.
func withConfig(t *testing.T, img v1.Image, edit func(*v1.ConfigFile)) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	edit(cf)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
