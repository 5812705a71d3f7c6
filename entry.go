package auditor

import "time"

// EntryType is the kind of a tar entry.
type EntryType uint8

// Entry types, as stored (the files views show their names).
const (
	TypeFile EntryType = iota
	TypeDir
	TypeSymlink
	TypeHardlink
	TypeChar
	TypeBlock
	TypeFIFO
	TypeWhiteout // a .wh.NAME entry; Path is the path it deletes
	TypeOpaque   // a .wh..wh..opq entry; Path is the directory it makes opaque
	TypeOther
)

var typeNames = [...]string{"file", "dir", "symlink", "hardlink", "char", "block", "fifo", "whiteout", "opaque", "other"}

func (t EntryType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "other"
}

// ContentKind is a cheap classification of a regular file's first bytes.
type ContentKind uint8

// Content kinds, as stored; KindNone is for entries that are not regular
// files (stored as NULL).
const (
	KindOther ContentKind = iota
	KindELF
	KindScript
	KindEmpty
	KindNone ContentKind = 255
)

// Entry is one tar entry of a layer.
type Entry struct {
	Path         string // cleaned, absolute: "/usr/bin/ls"
	RawName      string // the name exactly as in the tar, when it differs from Path
	Type         EntryType
	Mode         int64 // permission bits with setuid, setgid and sticky (07777)
	UID, GID     int64
	Uname, Gname string
	Size         int64
	ModTime      time.Time
	SHA256       string // lowercase hex of the content; regular files and hardlinks to them
	Linkname     string
	Kind         ContentKind
	Capabilities string // decoded security.capability xattr, e.g. "cap_net_bind_service=ep"
}
