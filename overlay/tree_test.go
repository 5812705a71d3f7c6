package overlay

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor"
)

// overlayInput builds overlay input from "type path [link]" lines; ids are
// assigned in order across layers starting at 1, and named by "L<pos>:<path>".
func overlayInput(spec [][]string) ([][]Entry, map[int64]string) {
	var layers [][]Entry
	names := map[int64]string{}
	id := int64(0)
	types := map[string]auditor.EntryType{"f": auditor.TypeFile, "d": auditor.TypeDir, "l": auditor.TypeSymlink, "h": auditor.TypeHardlink, "wh": auditor.TypeWhiteout, "opq": auditor.TypeOpaque}
	for pos, lines := range spec {
		var l []Entry
		for _, line := range lines {
			t, p, _ := strings.Cut(line, " ")
			p, link, _ := strings.Cut(p, " ")
			id++
			l = append(l, Entry{ID: id, Path: p, Type: types[t], Link: link})
			names[id] = fmt.Sprintf("L%d:%s %s", pos, t, p)
		}
		layers = append(layers, l)
	}
	return layers, names
}

func render(h []Hidden, moved []Moved, inodes []Inode, names map[int64]string) []string {
	how := map[HiddenHow]string{HiddenDeleted: "deleted", HiddenOpaque: "opaque", HiddenOverwritten: "overwritten", HiddenMarker: "marker"}
	var out []string
	for _, x := range h {
		out = append(out, fmt.Sprintf("%s by %d %s", names[x.ID], x.By, how[x.How]))
	}
	for _, m := range moved {
		out = append(out, fmt.Sprintf("%s at %s", names[m.ID], m.Path))
	}
	for _, in := range inodes {
		out = append(out, fmt.Sprintf("%s links %s", names[in.ID], names[in.Target]))
	}
	sort.Strings(out)
	return out
}

func TestOverlay(t *testing.T) {
	tests := []struct {
		name   string
		layers [][]string
		want   []string
	}{
		{
			name:   "nothing hidden",
			layers: [][]string{{"d /etc", "f /etc/passwd"}, {"f /etc/motd"}},
		},
		{
			name:   "whiteout deletes a lower file",
			layers: [][]string{{"d /etc", "f /etc/motd"}, {"d /etc", "wh /etc/motd"}},
			want:   []string{"L0:d /etc by 1 overwritten", "L0:f /etc/motd by 1 deleted", "L1:wh /etc/motd by 1 marker"},
		},
		{
			name:   "whiteout of a directory deletes the subtree",
			layers: [][]string{{"d /usr/share/doc/apt", "f /usr/share/doc/apt/copyright"}, {"wh /usr/share/doc/apt"}},
			want:   []string{"L0:d /usr/share/doc/apt by 1 deleted", "L0:f /usr/share/doc/apt/copyright by 1 deleted", "L1:wh /usr/share/doc/apt by 1 marker"},
		},
		{
			name:   "whiteout applies to lower layers only, not the same layer",
			layers: [][]string{{"f /a"}, {"f /a", "wh /a"}},
			want:   []string{"L0:f /a by 1 deleted", "L1:wh /a by 1 marker"},
		},
		{
			name:   "opaque hides lower children but not the same layer's",
			layers: [][]string{{"d /data", "f /data/a", "f /data/b"}, {"d /data", "opq /data", "f /data/fresh"}},
			want:   []string{"L0:d /data by 1 overwritten", "L0:f /data/a by 1 opaque", "L0:f /data/b by 1 opaque", "L1:opq /data by 1 marker"},
		},
		{
			name:   "file replaced by a directory",
			layers: [][]string{{"f /opt/config"}, {"d /opt/config", "f /opt/config/app.yaml"}},
			want:   []string{"L0:f /opt/config by 1 overwritten"},
		},
		{
			name:   "file replaced by a directory with no entry of its own",
			layers: [][]string{{"f /opt/config"}, {"f /opt/config/app.yaml"}},
			want:   []string{"L0:f /opt/config by 1 overwritten"},
		},
		{
			name:   "directory replaced by a file hides everything beneath",
			layers: [][]string{{"d /opt/etc", "f /opt/etc/app.conf", "d /opt/etc/conf.d", "f /opt/etc/conf.d/x"}, {"f /opt/etc"}},
			want:   []string{"L0:d /opt/etc by 1 overwritten", "L0:d /opt/etc/conf.d by 1 overwritten", "L0:f /opt/etc/app.conf by 1 overwritten", "L0:f /opt/etc/conf.d/x by 1 overwritten"},
		},
		{
			name:   "duplicate entry in one layer: the last wins",
			layers: [][]string{{"f /x", "f /x"}},
			want:   []string{"L0:f /x by 0 overwritten"},
		},
		{
			name:   "orphan whiteout hides only itself",
			layers: [][]string{{"f /x"}, {"wh /nothing/here"}},
			want:   []string{"L1:wh /nothing/here by 1 marker"},
		},
		// Extraction writes through a symlinked parent (bin -> usr/bin:
		// bin/tool is /usr/bin/tool). This was "taken at the path the tar
		// records", which showed a trojan's target as the original.
		{
			name:   "an entry under a symlinked parent lands at the link's target",
			layers: [][]string{{"l /bin usr/bin", "d /usr/bin"}, {"f /bin/tool"}},
			want:   []string{"L1:f /bin/tool at /usr/bin/tool"},
		},
		{
			name:   "a file written through a link replaces the target's file",
			layers: [][]string{{"d /usr/bin", "f /usr/bin/ls", "l /bin usr/bin"}, {"f /bin/ls"}},
			want:   []string{"L0:f /usr/bin/ls by 1 overwritten", "L1:f /bin/ls at /usr/bin/ls"},
		},
		{
			name:   "a whiteout through a link deletes the target's file",
			layers: [][]string{{"d /data", "f /data/secret", "l /link /data"}, {"wh /link/secret"}},
			want:   []string{"L0:f /data/secret by 1 deleted", "L1:wh /link/secret at /data/secret", "L1:wh /link/secret by 1 marker"},
		},
		{
			name:   "an opaque marker through a link empties the target",
			layers: [][]string{{"d /data", "f /data/a", "l /link data"}, {"opq /link"}},
			want:   []string{"L0:f /data/a by 1 opaque", "L1:opq /link at /data", "L1:opq /link by 1 marker"},
		},
		{
			name:   "an entry at a link's own path replaces the link",
			layers: [][]string{{"l /bin usr/bin"}, {"d /bin", "f /bin/sh"}},
			want:   []string{"L0:l /bin by 1 overwritten"},
		},
		{
			name:   "absolute targets and .. stay inside the root",
			layers: [][]string{{"l /a/up ../../../../etc", "l /abs /../../etc/"}, {"f /a/up/passwd", "f /abs/shadow"}},
			want:   []string{"L1:f /a/up/passwd at /etc/passwd", "L1:f /abs/shadow at /etc/shadow"},
		},
		{
			name:   "links through links, and a link made earlier in the same layer",
			layers: [][]string{{"l /lib usr/lib", "d /usr/lib", "l /usr/lib/x86_64 ../lib64", "l /tmp/l /lib/x86_64", "f /tmp/l/libc.so"}},
			want:   []string{"L0:f /tmp/l/libc.so at /usr/lib64/libc.so"},
		},
		{
			name:   "a whiteout uses the links of the layers below it only",
			layers: [][]string{{"d /d", "f /d/x", "f /e/x"}, {"wh /e/x", "l /e d"}},
			want:   []string{"L0:f /e/x by 1 deleted", "L1:wh /e/x by 1 marker"},
		},
		{
			name:   "a link loop: the entry stays at its tar path",
			layers: [][]string{{"l /a b", "l /b a"}, {"f /a/x"}},
		},
		{
			name:   "a hardlink links a file of its own layer, of a lower one, or a chain's first",
			layers: [][]string{{"d /etc", "f /etc/shadow", "f /a", "h /b a", "h /c ./b"}, {"h /opt/legacy/shadow ../../../etc/shadow"}},
			want:   []string{"L0:h /b links L0:f /a", "L0:h /c links L0:f /a", "L1:h /opt/legacy/shadow links L0:f /etc/shadow"},
		},
		{
			name:   "a hardlink to a symlink is the symlink; through a symlinked parent, the target's file",
			layers: [][]string{{"d /usr/bin", "f /usr/bin/ls", "l /bin usr/bin", "l /s x"}, {"h /hs s", "h /hx bin/ls"}},
			want:   []string{"L1:h /hs links L0:l /s", "L1:h /hx links L0:f /usr/bin/ls"},
		},
		{
			name:   "a hardlink keeps the file it linked when a later layer replaces the path",
			layers: [][]string{{"f /x"}, {"h /y x"}, {"f /x"}, {"h /z x", "h /dangling nothing", "d /d", "h /todir d"}},
			want:   []string{"L0:f /x by 2 overwritten", "L1:h /y links L0:f /x", "L3:h /z links L2:f /x"},
		},
		{
			name:   "a symlink written through a link redirects what comes beneath it",
			layers: [][]string{{"l /opt srv", "d /srv"}, {"l /opt/app /etc"}, {"f /srv/app/cron"}},
			want:   []string{"L1:l /opt/app at /srv/app", "L2:f /srv/app/cron at /etc/cron"},
		},
		{
			name:   "whiteout then re-create in the same layer",
			layers: [][]string{{"d /a", "f /a/old"}, {"wh /a", "d /a", "f /a/new"}},
			want:   []string{"L0:d /a by 1 deleted", "L0:f /a/old by 1 deleted", "L1:wh /a by 1 marker"},
		},
		{
			name:   "later layer hides what an earlier one overwrote once only",
			layers: [][]string{{"f /x"}, {"f /x"}, {"wh /x"}},
			want:   []string{"L0:f /x by 1 overwritten", "L1:f /x by 2 deleted", "L2:wh /x by 2 marker"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, names := overlayInput(tt.layers)
			hidden, moved, inodes := Compute(in)
			got := render(hidden, moved, inodes, names)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("hidden:\n got %q\nwant %q", got, tt.want)
			}
			byPath, moved, inodes, err := ByPath(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := render(byPath, moved, inodes, names); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("hidden, in path order:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestOverlayTreeRollbackFreesLog: a tree rolled back after a big top layer
// keeps neither the undo log nor the output that layer grew.
func TestOverlayTreeRollbackFreesLog(t *testing.T) {
	tree := NewTree()
	var below []Entry
	for i := range 1000 {
		below = append(below, Entry{ID: int64(i + 1), Path: fmt.Sprintf("/usr/share/doc/p%d", i), Type: auditor.TypeFile})
	}
	tree.Apply(0, below)
	var top []Entry
	for i := range 200_000 {
		top = append(top, Entry{ID: int64(10_000 + i), Path: fmt.Sprintf("/usr/share/doc/p%d", i%1000), Type: auditor.TypeFile})
	}
	m := tree.Mark()
	tree.Apply(1, top)
	tree.Rollback(m)
	if cap(tree.undo) > 1<<12 || cap(tree.out) > 2*len(tree.out)+1<<12 {
		t.Errorf("after rollback the tree keeps an undo log of capacity %d and output of capacity %d (length %d)", cap(tree.undo), cap(tree.out), len(tree.out))
	}
}
