package scanners

import (
	"fmt"
	"strings"

	"github.com/auditor-dev/auditor"
	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/secconf"
)

// configParserVersion changes whenever what secconf reads of a file could
// (the path set, a parser): each layer is then read once more for its
// configuration files.
const configParserVersion = "11"

// Config is the security-configuration scanner (auditor.ConfigScanner): while
// a layer streams it reads the files of secconf's path set (accounts,
// authentication, autostart, name resolution, package sources) up to
// MaxSize bytes each and stores their lines and structured rows, once per
// content, for the config views that rules join. Any other file of up to
// secconf.ShapeMaxSize with the shape of a key, sudoers, PAM or sshd file
// is kept too, as a candidate kind (secconf.Shape), for what a
// configuration may name from anywhere.
type Config struct {
	lim secconf.Limits
	set *secconf.PathSet
}

var _ crawl.LayerScanner = (*Config)(nil)

// NewConfig returns the scanner of secconf's documented path set with its
// default bounds (256 KiB a file), or maxSize bytes a file when it is
// positive.
func NewConfig(maxSize int) *Config {
	c, _ := NewConfigWith(ConfigOptions{MaxFileSize: maxSize}) // no extra paths: no error
	return c
}

// ConfigOptions are the config scanner's settings ([config_files]).
type ConfigOptions struct {
	MaxFileSize int             // bytes of one file; 0 = secconf's default (256 KiB)
	Extra       []secconf.Extra // files added to the documented path set
}

// NewConfigWith returns the scanner with o; an error names a bad extra path.
func NewConfigWith(o ConfigOptions) (*Config, error) {
	lim := secconf.DefaultLimits
	if o.MaxFileSize < 0 {
		return nil, fmt.Errorf("config files: max_file_size %d is negative", o.MaxFileSize)
	}
	if o.MaxFileSize > 0 {
		lim.MaxSize = o.MaxFileSize
	}
	set, err := secconf.NewPathSet(o.Extra)
	if err != nil {
		return nil, fmt.Errorf("config files: %w", err)
	}
	return &Config{lim: lim, set: set}, nil
}

// Name is auditor.ConfigScanner.
func (c *Config) Name() string { return auditor.ConfigScanner }

// Version covers the parsers, the bounds and the extra paths: changing the
// path set has each layer read once more, for this scanner.
func (c *Config) Version() string {
	v := fmt.Sprintf("%s/%d/%d/%d", configParserVersion, c.lim.MaxSize, c.lim.MaxLine, c.lim.MaxLines)
	if k := c.set.Key(); k != "" {
		v += "/" + k
	}
	return v
}

// NewScan starts reading one layer.
func (c *Config) NewScan(out crawl.ScanSink) crawl.LayerScan { return &configScan{c: c, out: out} }

// Per-layer bounds of what the scan holds until the layer is stored: a
// hostile layer of many captured files (authorized_keys is matched at any
// depth) must not fill memory. Past them the scan fails on the layer, which
// the scan errors, layer_scans and security-config-unreadable report.
const (
	configLayerBytes = 32 << 20
	configLayerFiles = 10000
	// Of those, the files kept for their shape alone (secconf.Shape):
	// any small file may be one, so a layer of many key-shaped files is
	// bounded apart.
	configShapeBytes = 8 << 20
	configShapeFiles = 2000
)

type configScan struct {
	c                      *Config
	out                    crawl.ScanSink
	kind                   secconf.Kind
	bytes                  int64
	files                  int
	shapeBytes, shapeFiles int
	skipped                int
}

func (s *configScan) Wants(path string, size int64) bool {
	s.kind = s.c.set.Classify(path)
	if s.kind == secconf.KindNone {
		// Read for its shape: File keeps it only if it has one.
		return secconf.ShapeCandidate(path, size)
	}
	if size > int64(s.c.lim.MaxSize) {
		return false
	}
	if s.files >= configLayerFiles || s.bytes+size > configLayerBytes {
		s.skipped++
		return false
	}
	s.files++
	s.bytes += size
	return true
}

// File parses one configuration file. A file over the line bounds is
// recorded with its error (a rule can flag it), not failed: an attacker
// must not blind the scanner to a whole layer with one long line.
func (s *configScan) File(seq int, path string, content []byte) error {
	kind := s.kind
	if kind == secconf.KindNone {
		if kind = secconf.Shape(content); kind == secconf.KindNone {
			return nil
		}
		if s.shapeFiles >= configShapeFiles || s.shapeBytes+len(content) > configShapeBytes ||
			s.files >= configLayerFiles || s.bytes+int64(len(content)) > configLayerBytes {
			s.skipped++
			return nil
		}
		s.shapeFiles++
		s.shapeBytes += len(content)
		s.files++
		s.bytes += int64(len(content))
	}
	cf := auditor.ConfigFile{Seq: seq, Kind: string(kind), Version: s.c.Version()}
	f, err := secconf.Parse(kind, path, content, s.c.lim)
	if err != nil && secconf.IsCandidate(kind) {
		// Kept for its shape alone: a file over the line bounds (a
		// minified bundle quoting a key) is no configuration to report
		// as unreadable.
		s.shapeFiles--
		s.shapeBytes -= len(content)
		s.files--
		s.bytes -= int64(len(content))
		return nil
	}
	if err != nil {
		cf.Error = err.Error()
		s.out.AddConfig(cf)
		return nil
	}
	cf.Lines = make([]string, len(f.Lines))
	for i, l := range f.Lines {
		cf.Lines[i] = l.Text
	}
	cf.Rows = configRows(f)
	if secconf.IsCandidate(kind) {
		for i := range cf.Rows {
			cf.Rows[i].Type = "candidate-" + cf.Rows[i].Type
		}
	}
	// The exact bytes too, so that cat serves the file from the index.
	cf.Data = append([]byte(nil), content...)
	s.out.AddConfig(cf)
	return nil
}

func (s *configScan) Done() error {
	if s.skipped > 0 {
		return fmt.Errorf("%d configuration files not read: the layer holds more than %d of them or %d MiB (or more than %d files or %d MiB kept for their shape)",
			s.skipped, configLayerFiles, configLayerBytes>>20, configShapeFiles, configShapeBytes>>20)
	}
	return nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// configRows maps what secconf read to the stored rows (the views in
// migration 0016 name their fields).
func configRows(f *secconf.File) []auditor.ConfigRow {
	var rows []auditor.ConfigRow
	for _, a := range f.Passwd {
		rows = append(rows, auditor.ConfigRow{Type: "account", Line: a.Line, A: a.Name, B: a.Password, C: a.Scheme, D: a.Home, E: a.Shell, F: a.GECOS, N1: a.UID, N2: a.GID})
	}
	for _, e := range f.Shadow {
		rows = append(rows, auditor.ConfigRow{Type: "shadow", Line: e.Line, A: e.Name, B: e.Password, C: e.Scheme})
	}
	for _, g := range f.Groups {
		rows = append(rows, auditor.ConfigRow{Type: "group", Line: g.Line, A: g.Name, B: strings.Join(g.Members, ","), N1: g.GID})
	}
	for _, g := range f.Sudo {
		rows = append(rows, auditor.ConfigRow{Type: "sudo", Line: g.Line, A: g.Who, B: g.Hosts, C: g.RunAs, D: g.Commands, N1: b2i(g.NoPasswd)})
	}
	for _, i := range f.SudoIncludes {
		rows = append(rows, auditor.ConfigRow{Type: "sudo-include", Line: i.Line, A: i.Path, N1: b2i(i.Dir)})
	}
	for _, a := range f.SudoAliases {
		rows = append(rows, auditor.ConfigRow{Type: "sudo-alias", Line: a.Line, A: a.Type, B: a.Name, D: a.Members})
	}
	for _, o := range f.SSH {
		rows = append(rows, auditor.ConfigRow{Type: "ssh", Line: o.Line, A: o.Keyword, B: o.Value, C: o.Match})
	}
	for _, p := range f.PAM {
		rows = append(rows, auditor.ConfigRow{Type: "pam", Line: p.Line, A: p.Type, B: p.Control, C: p.Module, D: p.Args, N1: b2i(p.Optional)})
	}
	for _, c := range f.Cron {
		rows = append(rows, auditor.ConfigRow{Type: "cron", Line: c.Line, A: c.Schedule, B: c.User, C: c.Command})
	}
	for _, u := range f.Units {
		rows = append(rows, auditor.ConfigRow{Type: "unit", Line: u.Line, A: u.Section, B: u.Key, C: u.Value})
	}
	for _, h := range f.Hosts {
		rows = append(rows, auditor.ConfigRow{Type: "host", Line: h.Line, A: h.Address, B: h.Name})
	}
	for _, s := range f.Sources {
		rows = append(rows, auditor.ConfigRow{Type: "source", Line: s.Line, A: s.Manager, B: s.URI, C: s.Scheme, D: s.Detail, N1: b2i(s.Trusted), N2: b2i(s.Enabled)})
	}
	return rows
}
