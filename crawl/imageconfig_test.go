package crawl_test

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/auditor-dev/auditor/crawl"
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
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.User = "root"
	cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"},
		Interval: 30 * time.Second, Timeout: 5 * time.Second, Retries: 3}
	cf.Config.OnBuild = []string{"COPY . /src", "RUN make"}
	cf.Config.Shell = []string{"/bin/bash", "-o", "pipefail", "-c"}
	cf.Config.StopSignal = "SIGQUIT"
	cf.Config.Labels = map[string]string{"org.opencontainers.image.source": "https://example.com/x"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
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
