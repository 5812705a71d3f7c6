package index

import "testing"

// TestHistoryUser: USER steps as BuildKit, kaniko, buildah and the classic
// builder write them set the user; RUN steps that mention USER do not.
func TestHistoryUser(t *testing.T) {
	for _, c := range []struct {
		createdBy string
		user      string
		ok        bool
	}{
		{"USER nginx", "nginx", true},
		{"USER 101:101", "101:101", true},
		{"/bin/sh -c #(nop)  USER [redis]", "redis", true},
		{"/bin/sh -c #(nop) USER root", "root", true},
		{"/bin/sh -c #(nop) USER 0", "0", true},
		{"#(nop) USER app ", "app", true},
		{"RUN /bin/sh -c useradd -m USER # buildkit", "", false},
		{"/bin/sh -c echo USER root >> /etc/motd", "", false},
		{"/bin/sh -c #(nop)  ENV USER=root", "", false},
		{"ENV USER=root", "", false},
		{"", "", false},
	} {
		u, ok := HistoryUser(c.createdBy)
		if u != c.user || ok != c.ok {
			t.Errorf("HistoryUser(%q) = %q, %v; want %q, %v", c.createdBy, u, ok, c.user, c.ok)
		}
	}
}
