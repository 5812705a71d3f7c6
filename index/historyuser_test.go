package index

import (
	"context"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/indextest"
)

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

// TestMigrateHistoryUsers: an index whose images were indexed before the
// history had a user column gets it filled from the stored created_by when
// it is opened.
func TestMigrateHistoryUsers(t *testing.T) {
	path, raw, exec := migratedBefore(t, "0015")
	exec(`INSERT INTO manifests (id, digest, media_type, indexed_at) VALUES (1, 'sha256:a', 'm', 't'), (2, 'sha256:b', 'm', 't')`)
	exec(`INSERT INTO manifest_history (manifest_id, position, created_by, empty_layer) VALUES
		(1, 0, '/bin/sh -c #(nop) ADD file:x in /', 0), (1, 1, 'USER app', 1), (1, 2, NULL, 0), (1, 3, '/bin/sh -c #(nop)  USER [root]', 1),
		(2, 0, 'RUN /bin/sh -c echo USER root', 0)`)
	raw.Close()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := strings.Join(indextest.Strings(t, db.w, `SELECT manifest_id || ' ' || position || ' ' || quote(user) FROM manifest_history ORDER BY 1`), ", ")
	if want := "1 0 '', 1 1 'app', 1 2 'app', 1 3 'root', 2 0 ''"; got != want {
		t.Errorf("history users after migrating: %s, want %s", got, want)
	}
}

// TestMigrateConfigVersion: image rows indexed before migration 0015 are
// marked as lacking the whole config (config_version NULL, so the next scan
// reads their config again); rows indexed since hold it.
func TestMigrateConfigVersion(t *testing.T) {
	path, raw, exec := migratedBefore(t, "0018")
	exec(`UPDATE migrations SET applied = '2500-01-01T00:00:00.000000000Z' WHERE name = '0015_image_config.sql'`)
	exec(`INSERT INTO manifests (id, digest, media_type, indexed_at) VALUES (1, 'sha256:old', 'm', '2000-01-01T00:00:00.000000000Z'),
		(2, 'sha256:new', 'm', '2999-01-01T00:00:00.000000000Z'), (3, 'sha256:pending', 'm', NULL)`)
	raw.Close()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := strings.Join(indextest.Strings(t, db.w, `SELECT digest || ' ' || quote(config_version) FROM manifests ORDER BY id`), ", ")
	if want := "sha256:old NULL, sha256:new 1, sha256:pending NULL"; got != want {
		t.Errorf("config_version after migrating: %s, want %s", got, want)
	}
	for _, d := range []string{"sha256:old", "sha256:new"} {
		st, err := db.Manifest(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Indexed != (d == "sha256:new") {
			t.Errorf("%s: Indexed = %v", d, st.Indexed)
		}
	}
}
