package pkgdb

import (
	"errors"
	"path"
	"sort"
	"strings"
)

// DpkgDB is a dpkg database assembled from its files.
type DpkgDB struct {
	// Packages from the status file and status.d, in that order; each with
	// its Files from info/ (or status.d/<name>.md5sums).
	Packages   []Package
	Diversions []Diversion
	Filters    DpkgFilters
}

// IsDpkgPath reports whether an image path is one ReadDpkg reads, so a
// layer scanner knows which files' bytes to keep.
func IsDpkgPath(p string) bool {
	switch path.Dir(p) {
	case DpkgInfo:
		ext := path.Ext(p)
		return ext == ".list" || ext == ".md5sums" || ext == ".conffiles"
	case DpkgStatusD, DpkgConfigD:
		return true
	}
	return p == DpkgStatus || p == DpkgDiversions || p == DpkgConfig
}

// ReadDpkg assembles a dpkg database from its files (image path -> bytes;
// the paths IsDpkgPath accepts, others are ignored). Each package's Files
// are its info/<pkg>.list paths in order, each with its md5 from
// info/<pkg>.md5sums, conffiles (from the status Conffiles field, with
// their md5, and info/<pkg>.conffiles) flagged Conffile, and md5sums
// entries the list lacks appended (distroless has md5sums only).
//
// A file that does not parse is left out and named in the returned error
// (errors.Join of one error per file); the database returned holds
// everything else, so one corrupt list loses one package's files only.
func ReadDpkg(files map[string][]byte, lim Limits) (*DpkgDB, error) {
	db := &DpkgDB{}
	var errs []error
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)

	// status, then status.d stanza files; remember which stanza file each
	// package came from (status.d/<x>.md5sums belongs to status.d/<x>).
	type origin struct{ file string }
	var from []origin
	if data, ok := files[DpkgStatus]; ok {
		pkgs, err := ParseDpkgStatus(DpkgStatus, data, lim)
		if err != nil {
			errs = append(errs, err)
		}
		for range pkgs {
			from = append(from, origin{DpkgStatus})
		}
		db.Packages = append(db.Packages, pkgs...)
	}
	for _, n := range names {
		if path.Dir(n) != DpkgStatusD || strings.HasSuffix(n, ".md5sums") {
			continue
		}
		pkgs, err := ParseDpkgStatus(n, files[n], lim)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for range pkgs {
			from = append(from, origin{n})
		}
		db.Packages = append(db.Packages, pkgs...)
	}

	// info/<pkg>[:<arch>].<kind>, and status.d/<x>.md5sums.
	type infoFiles struct {
		list, md5s []string // file names, in name order
		conffiles  []string
	}
	info := map[string]*infoFiles{}
	key := func(k string) *infoFiles {
		if info[k] == nil {
			info[k] = &infoFiles{}
		}
		return info[k]
	}
	for _, n := range names {
		switch path.Dir(n) {
		case DpkgInfo:
			base := path.Base(n)
			ext := path.Ext(base)
			k := strings.TrimSuffix(base, ext)
			switch ext {
			case ".list":
				key(k).list = append(key(k).list, n)
			case ".md5sums":
				key(k).md5s = append(key(k).md5s, n)
			case ".conffiles":
				key(k).conffiles = append(key(k).conffiles, n)
			}
		case DpkgStatusD:
			if strings.HasSuffix(n, ".md5sums") {
				k := "status.d:" + strings.TrimSuffix(n, ".md5sums")
				key(k).md5s = append(key(k).md5s, n)
			}
		}
	}
	records := 0
	for i := range db.Packages {
		p := &db.Packages[i]
		var fi *infoFiles
		if from[i].file != DpkgStatus {
			fi = info["status.d:"+from[i].file]
		}
		if fi == nil {
			fi = info[p.Name+":"+p.Architecture]
		}
		if fi == nil {
			fi = info[p.Name]
		}
		if fi == nil {
			continue
		}
		files, err := dpkgFiles(p.Files, fi.list, fi.md5s, fi.conffiles, files, lim)
		if err != nil {
			errs = append(errs, err)
		}
		p.Files = files
		records += len(files)
		if records > lim.MaxRecords {
			errs = append(errs, tooMany("dpkg database", lim))
			break
		}
	}

	if data, ok := files[DpkgDiversions]; ok {
		d, err := ParseDpkgDiversions(DpkgDiversions, data, lim)
		if err != nil {
			errs = append(errs, err)
		}
		db.Diversions = d
	}
	f, err := ParseDpkgFilters(files, lim)
	if err != nil {
		errs = append(errs, err)
	}
	db.Filters = f
	return db, errors.Join(errs...)
}

// dpkgFiles joins a package's list, md5sums and conffiles into records,
// starting from the conffiles of its status stanza. A file that does not
// parse is skipped and its error returned with what the others gave.
func dpkgFiles(conf []File, lists, md5s, conffiles []string, files map[string][]byte, lim Limits) ([]File, error) {
	var errs []error
	var out []File
	at := map[string]int{}
	add := func(f File) *File {
		if i, ok := at[f.Path]; ok {
			return &out[i]
		}
		at[f.Path] = len(out)
		out = append(out, f)
		return &out[len(out)-1]
	}
	for _, n := range lists {
		ps, err := ParseDpkgList(n, files[n], lim)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range ps {
			add(File{Path: p})
		}
	}
	for _, n := range md5s {
		fs, err := ParseDpkgMD5sums(n, files[n], lim)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range fs {
			r := add(f)
			r.Algorithm, r.Digest = f.Algorithm, f.Digest
		}
	}
	for _, c := range conf {
		r := add(c)
		r.Algorithm, r.Digest, r.Flags = c.Algorithm, c.Digest, r.Flags|c.Flags
	}
	for _, n := range conffiles {
		ps, err := ParseDpkgConffiles(n, files[n], lim)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range ps {
			add(File{Path: p}).Flags |= Conffile
		}
	}
	return out, errors.Join(errs...)
}
