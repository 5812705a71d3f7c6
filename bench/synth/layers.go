package synth

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/auditor-dev/auditor"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// updated reports how many times package p of a universe changed by release
// rel: about 30% of packages change at each release.
func (s Spec) updated(universe uint64, p, rel int) int {
	n := 0
	for k := 1; k <= rel; k++ {
		if s.rng(universe, uint64(p), uint64(k)).IntN(10) < 3 {
			n++
		}
	}
	return n
}

// BaseLayer returns base layer i (0 <= i < Bases): release i/Families of OS
// family i%Families.
func (s Spec) BaseLayer(i int) *auditor.Layer {
	fam, rel := i%s.Families, i/s.Families
	famName := fmt.Sprintf("os%d", fam)
	var files []file
	npkg := max(1, s.BaseFiles/16)
	for p := range npkg {
		r := s.rng(kindBase, uint64(fam), uint64(p))
		if s.rng(kindBase, uint64(fam), uint64(p), uint64(rel)).IntN(10) == 0 {
			continue // not installed in this release
		}
		pkg := pkgName(famName, p)
		ver := fmt.Sprint(s.updated(uint64(fam)+100, p, rel))
		key := famName + "/" + pkg + "@" + ver
		files = append(files,
			file{path: "/usr/share/doc/" + pkg + "/copyright", key: famName + "/" + pkg + ":copyright", typ: auditor.TypeFile, mode: 0o644, size: 1500},
			file{path: "/usr/share/doc/" + pkg + "/changelog.Debian.gz", key: key + ":changelog", typ: auditor.TypeFile, mode: 0o644, size: fileSize(r)},
			file{path: "/var/lib/dpkg/info/" + pkg + ".list", key: key + ":list", typ: auditor.TypeFile, mode: 0o644, size: fileSize(r)},
			file{path: "/var/lib/dpkg/info/" + pkg + ".md5sums", key: key + ":md5sums", typ: auditor.TypeFile, mode: 0o644, size: fileSize(r)},
			file{path: "/usr/lib/x86_64-linux-gnu/lib" + pkg + ".so.1." + ver, key: key + ":so", typ: auditor.TypeFile, mode: 0o644, kind: auditor.KindELF, size: fileSize(r) * 8},
			file{path: "/usr/lib/x86_64-linux-gnu/lib" + pkg + ".so.1", typ: auditor.TypeSymlink, mode: 0o777, link: "lib" + pkg + ".so.1." + ver},
		)
		if r.IntN(2) == 0 {
			files = append(files, file{path: "/usr/bin/" + pkg, key: key + ":bin", typ: auditor.TypeFile, mode: 0o755, kind: auditor.KindELF, size: fileSize(r) * 16})
		}
		if r.IntN(5) == 0 {
			for _, l := range langs[:3] {
				files = append(files, file{path: "/usr/share/locale/" + l + "/LC_MESSAGES/" + pkg + ".mo", key: key + ":mo:" + l, typ: auditor.TypeFile, mode: 0o644, size: fileSize(r)})
			}
		}
		files = subtree(files, r, "/usr/share/"+pkg, key, "", 8, 3, []string{".txt", ".xml", ".json", ".conf", ".py", ".sh", ".dat"})
	}
	osr := fmt.Sprintf("%s release %d", famName, rel)
	files = append(files,
		file{path: "/etc/os-release", key: osr, typ: auditor.TypeFile, mode: 0o644, size: 300},
		file{path: "/etc/passwd", key: famName + ":passwd", typ: auditor.TypeFile, mode: 0o644, size: 900},
		file{path: "/etc/group", key: famName + ":group", typ: auditor.TypeFile, mode: 0o644, size: 500},
		file{path: "/etc/shadow", key: osr + ":shadow", typ: auditor.TypeFile, mode: 0o640, size: 500},
		file{path: "/usr/bin/bash", key: osr + ":bash", typ: auditor.TypeFile, mode: 0o755, kind: auditor.KindELF, size: 1 << 20},
		file{path: "/usr/bin/sh", typ: auditor.TypeSymlink, mode: 0o777, link: "dash"},
		file{path: "/usr/bin/passwd", key: osr + ":passwd", typ: auditor.TypeFile, mode: 0o4755, kind: auditor.KindELF, size: 60000},
		file{path: "/usr/bin/su", key: osr + ":su", typ: auditor.TypeFile, mode: 0o4755, kind: auditor.KindELF, size: 70000},
		file{path: "/usr/bin/mount", key: osr + ":mount", typ: auditor.TypeFile, mode: 0o4755, kind: auditor.KindELF, size: 50000},
		file{path: "/usr/bin/chage", key: osr + ":chage", typ: auditor.TypeFile, mode: 0o2755, kind: auditor.KindELF, size: 80000},
		file{path: "/usr/bin/perl", key: osr + ":perl", typ: auditor.TypeFile, mode: 0o755, kind: auditor.KindELF, size: 4 << 20},
		file{path: "/usr/bin/perl5.36.0", key: osr + ":perl", typ: auditor.TypeHardlink, mode: 0o755, link: "usr/bin/perl"},
		file{path: "/tmp", typ: auditor.TypeDir, mode: 0o1777},
	)
	if fam%2 == 0 {
		files = append(files, file{path: "/bin", typ: auditor.TypeSymlink, mode: 0o777, link: "usr/bin"})
	}
	return layer(digestOf("base", s.Seed, i), epoch.Add(time.Duration(rel)*30*24*time.Hour), "root", files)
}

var runtimes = []struct{ name, root, exe string }{
	{"python", "/usr/local/lib/python3.%d/site-packages", "/usr/local/bin/python3.%d"},
	{"node", "/usr/local/lib/node_modules", "/usr/local/bin/node%.0d"},
	{"jdk", "/opt/java/openjdk/lib", "/opt/java/openjdk/bin/java%.0d"},
	{"go", "/usr/local/go/src", "/usr/local/go/bin/go%.0d"},
	{"ruby", "/usr/local/lib/ruby/gems/3.%d.0/gems", "/usr/local/bin/ruby3.%d"},
}

// StackLayer returns language-runtime layer i (0 <= i < Stacks): version
// i/5 of runtime i%5. Successive versions share most package contents;
// runtimes whose install path has no version share the paths too.
func (s Spec) StackLayer(i int) *auditor.Layer {
	rt, v := runtimes[i%len(runtimes)], i/len(runtimes)
	root := rt.root
	if strings.Contains(root, "%d") {
		root = fmt.Sprintf(root, v)
	}
	exe := fmt.Sprintf(rt.exe, v)
	files := []file{{path: exe, key: fmt.Sprint(rt.name, v, ":exe"), typ: auditor.TypeFile, mode: 0o755, kind: auditor.KindELF, size: 20 << 20}}
	const perPkg = 40
	for p := range max(1, s.StackFiles/perPkg) {
		pkg := pkgName(rt.name, p)
		ver := fmt.Sprint(s.updated(uint64(i%len(runtimes))+200, p, v))
		r := s.rng(kindStack, uint64(i%len(runtimes)), uint64(p))
		files = subtree(files, r, root+"/"+pkg, rt.name+"/"+pkg, ver, perPkg, 5, []string{".py", ".js", ".class", ".go", ".rb", ".json", ".txt", ".so", ".pyc", ".d.ts"})
	}
	return layer(digestOf("stack", s.Seed, i), epoch.Add(time.Duration(i)*time.Hour), "root", files)
}

// depUniverse is how many distinct dependency packages applications draw
// from (popular ones far more often).
const depUniverse = 3000

// appFiles returns the files of application a's layer.
func (s Spec) appFiles(a int) []file {
	r := s.rng(kindApp, uint64(a))
	var files []file
	modules := "/app/node_modules"
	if a%2 == 1 {
		modules = "/app/.venv/lib/python3.11/site-packages"
	}
	const perPkg = 30
	own := max(1, s.AppFiles/10)
	for n := 0; n < s.AppFiles-own; n += perPkg {
		p := int(depUniverse * math.Pow(r.Float64(), 3)) // skewed: low ids are popular
		pr := s.rng(kindApp+100, uint64(p))
		ver := fmt.Sprint(r.IntN(3))
		pkg := pkgName("deps", p)
		files = subtree(files, pr, modules+"/"+pkg, "dep/"+pkg, ver, perPkg, 6, []string{".js", ".json", ".md", ".d.ts", ".py", ".map"})
	}
	files = subtree(files, r, "/app/src", fmt.Sprint("app", a), "", own, 4, []string{".js", ".py", ".json", ".html", ".css"})
	for i := range files {
		files[i].uid = 1000
	}
	return files
}

// AppLayer returns application a's own layer (0 <= a < Apps).
func (s Spec) AppLayer(a int) *auditor.Layer {
	return layer(digestOf("app", s.Seed, a), epoch.Add(time.Duration(a)*time.Minute), "", s.appFiles(a))
}

// TagLayer returns the layer that tag t of application a adds: a build
// output of unique files, a binary, and whiteouts of t files of the
// application layer; every fifth application's tags make /app/src opaque.
func (s Spec) TagLayer(a, t int) *auditor.Layer {
	r := s.rng(kindTag, uint64(a), uint64(t))
	tag := fmt.Sprint("app", a, "tag", t)
	files := []file{
		{path: "/app/VERSION", key: tag + ":version", typ: auditor.TypeFile, mode: 0o644, size: 8},
		{path: "/app/bin/server", key: tag + ":server", typ: auditor.TypeFile, mode: 0o755, kind: auditor.KindELF, size: 12 << 20},
	}
	files = subtree(files, r, "/app/dist", tag, "", max(1, s.TagFiles-2), 2, []string{".js", ".css", ".map", ".html"})
	app := s.appFiles(a)
	for k := 0; k < t && k < len(app); k++ {
		victim := app[r.IntN(len(app))].path
		files = append(files, file{path: victim, typ: auditor.TypeWhiteout})
	}
	if a%5 == 0 {
		files = append(files, file{path: "/app/src", typ: auditor.TypeOpaque})
	}
	if (a*31+t)%50 == 0 { // now and then, something a rule should flag
		files = append(files, file{path: "/tmp/.cache/kworker", key: tag + ":dropper", typ: auditor.TypeFile, mode: 0o755, kind: auditor.KindELF, size: 2 << 20})
	}
	return layer(digestOf("tag", s.Seed, a, t), epoch.Add(time.Duration(a*s.Tags+t)*time.Minute), "", files)
}

// skewed returns an index below n, low ones far more often (popular bases
// and runtimes).
func skewed(r interface{ Float64() float64 }, n int) int {
	return min(n-1, int(float64(n)*math.Pow(r.Float64(), 2)))
}

// Repo returns the repository of application a.
func (s Spec) Repo(a int) auditor.Repo {
	return auditor.Repo{Registry: "registry.example.com", Name: fmt.Sprintf("team-%02d/app-%04d", a%40, a)}
}

// Image returns tag t of application a: a base, a runtime, the application
// layer and the tag's layer, with config and history.
func (s Spec) Image(a, t int) (tag string, img *auditor.Image) {
	r := s.rng(kindApp+200, uint64(a))
	base, stack := skewed(r, s.Bases), skewed(r, s.Stacks)
	created := epoch.Add(time.Duration(a*s.Tags+t) * time.Minute)
	img = &auditor.Image{
		Digest:       digestOf("image", s.Seed, a, t),
		MediaType:    "application/vnd.oci.image.manifest.v1+json",
		Size:         1024,
		ConfigDigest: digestOf("config", s.Seed, a, t),
		Platform:     auditor.Platform{OS: "linux", Architecture: "amd64"},
		Created:      created,
		User:         "1000",
		WorkingDir:   "/app",
		Entrypoint:   []string{"/app/bin/server"},
		Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin", fmt.Sprintf("APP_VERSION=v1.%d", t)},
		Labels:       map[string]string{"org.opencontainers.image.version": fmt.Sprintf("v1.%d", t)},
		ExposedPorts: []string{"8080/tcp"},
		Layers: []string{
			digestOf("base", s.Seed, base), digestOf("stack", s.Seed, stack),
			digestOf("app", s.Seed, a), digestOf("tag", s.Seed, a, t),
		},
	}
	for _, by := range []string{"/bin/sh -c #(nop) ADD file:rootfs in / ", "/bin/sh -c #(nop) COPY dir:runtime in / ",
		"/bin/sh -c npm ci && pip install -r requirements.txt", "/bin/sh -c #(nop) COPY --from=build /out /app "} {
		img.History = append(img.History, auditor.History{Created: created, CreatedBy: by})
	}
	img.History = append(img.History, auditor.History{Created: created, CreatedBy: `/bin/sh -c #(nop)  ENTRYPOINT ["/app/bin/server"]`, EmptyLayer: true})
	return fmt.Sprintf("v1.%d", t), img
}

// Release returns release n (n >= 1) of tag t of application a, as a night's
// push of a new build would make it: the tag's layer rebuilt (a new digest,
// new contents of the build output, the same paths) and the tag's image over
// it, with new image and config digests; the tag's name is unchanged.
func (s Spec) Release(a, t, n int) (l *auditor.Layer, tag string, img *auditor.Image) {
	l = s.TagLayer(a, t)
	l.Digest = digestOf("tag", s.Seed, a, t, "release", n)
	l.DiffID = digestOf("diff", l.Digest)
	for i := range l.Entries {
		if e := &l.Entries[i]; e.SHA256 != "" && e.Kind != auditor.KindEmpty {
			e.SHA256 = content(fmt.Sprint(e.SHA256, "release", n))
		}
	}
	tag, img = s.Image(a, t)
	img.Digest = digestOf("image", s.Seed, a, t, "release", n)
	img.ConfigDigest = digestOf("config", s.Seed, a, t, "release", n)
	img.Layers[len(img.Layers)-1] = l.Digest
	return l, tag, img
}
