package imagepkg_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/auditor-dev/auditor/internal/fleettest"
)

// TestDebsumsOracle compares package_files with Debian's debsums run over
// a rootfs umoci unpacked from the same image of the fleet's layout, file by
// file: every md5 record of every installed package must get debsums'
// verdict (OK, FAILED, missing, not a regular file), a conffile-modified
// one FAILED, and debsums must check nothing package_files lacks. redis
// has its edited conffile; toolbox its dpkg -x binaries, which neither
// checks. (umoci does not unpack nginx's Docker manifest.)
func TestDebsumsOracle(t *testing.T) {
	umoci, debsums := needTool(t, "umoci"), needTool(t, "debsums")
	db := fleetIndex(t)
	layout := filepath.Join(fleettest.Dir(t), "images", "oci")
	for _, c := range []struct {
		ref, repo string
		modified  int
	}{{"redis-7.0", "apps/redis", 1}, {"toolbox-2025.06", "ops/toolbox", 0}, {"debian-bookworm-minbase", "library/debian", 0}} {
		t.Run(c.ref, func(t *testing.T) {
			image := imageOf(t, db, c.repo)
			bundle := filepath.Join(t.TempDir(), "bundle")
			args := []string{"unpack", "--image", layout + ":" + c.ref, bundle}
			if os.Geteuid() != 0 {
				args = append(args[:1], append([]string{"--rootless"}, args[1:]...)...)
			}
			if out, err := exec.Command(umoci, args...).CombinedOutput(); err != nil {
				t.Fatalf("umoci %v: %v\n%s", args, err, out)
			}
			root := filepath.Join(bundle, "rootfs")
			cmd := exec.Command(debsums, "-a", "--root", root)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				if _, ok := err.(*exec.ExitError); !ok { // debsums exits 2 when it found changes
					t.Fatal(err)
				}
			}
			oracle := map[string]string{}
			okLine := regexp.MustCompile(`^(\S+)\s+(OK|FAILED)$`)
			sc := bufio.NewScanner(&stdout)
			for sc.Scan() {
				m := okLine.FindStringSubmatch(sc.Text())
				if m == nil {
					t.Fatalf("debsums stdout: %q", sc.Text())
				}
				st := "ok"
				if m[2] == "FAILED" {
					st = "modified"
				}
				oracle[strings.TrimPrefix(m[1], root)] = st
			}
			missingLine := regexp.MustCompile(`^debsums: missing file (\S+) \(from \S+ package\)$`)
			notRegular := regexp.MustCompile(`^debsums: can't check \S+ file (\S+) \(not a regular file\)$`)
			sc = bufio.NewScanner(&stderr)
			for sc.Scan() {
				if m := missingLine.FindStringSubmatch(sc.Text()); m != nil {
					oracle[strings.TrimPrefix(m[1], root)] = "missing"
				} else if m := notRegular.FindStringSubmatch(sc.Text()); m != nil {
					oracle[strings.TrimPrefix(m[1], root)] = "modified"
				} else {
					t.Fatalf("debsums stderr: %q", sc.Text())
				}
			}

			ours := map[string]string{}
			for _, r := range rows(t, db, `SELECT recorded_path || ' ' || status FROM package_files
				WHERE image_digest = ? AND algorithm = 'md5' AND status NOT IN ('diverted', 'excluded')`, image) {
				p, st, _ := strings.Cut(r, " ")
				if st == "conffile-modified" {
					st = "modified"
				}
				if prev, ok := ours[p]; ok && prev != st {
					t.Errorf("%s: %s and %s", p, prev, st)
				}
				ours[p] = st
			}
			counts := map[string]int{}
			for p, st := range ours {
				counts[st]++
				if want, ok := oracle[p]; !ok {
					t.Errorf("%s: %s, debsums did not check it", p, st)
				} else if want != st {
					t.Errorf("%s: %s, debsums says %s", p, st, want)
				}
			}
			for p, want := range oracle {
				if _, ok := ours[p]; !ok {
					t.Errorf("%s: debsums says %s, package_files has no md5 record", p, want)
				}
			}
			if counts["ok"] < 2000 || counts["missing"] == 0 || counts["modified"] != c.modified {
				t.Errorf("verdicts %v", counts)
			}
		})
	}
}
