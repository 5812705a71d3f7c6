package queries

import (
	"fmt"
	"strings"
)

// Table renderings shared by the canned queries.

// ShortDigest renders "sha256:<hex>" as its first 12 hex digits, the way
// docker does, unless o.NoTrunc.
func ShortDigest(v any, o TableOptions) string {
	s, ok := v.(string)
	if !ok {
		return dashNull(v, o)
	}
	if o.NoTrunc {
		return s
	}
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) > 12 {
		s = s[:12]
	}
	return s
}

// ModeString renders a file mode the way ls -l does: "drwxr-xr-x",
// "-rwsr-xr-x", "lrwxrwxrwx". typ is the files view's type.
func ModeString(typ string, mode int64) string {
	b := []byte("?rwxrwxrwx")
	switch typ {
	case "file", "hardlink":
		b[0] = '-'
	case "dir", "opaque":
		b[0] = 'd'
	case "symlink":
		b[0] = 'l'
	case "char":
		b[0] = 'c'
	case "block":
		b[0] = 'b'
	case "fifo":
		b[0] = 'p'
	case "whiteout":
		b[0] = 'w'
	}
	for i := 0; i < 9; i++ {
		if mode&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	exec := func(i int, bit int64, set, unset byte) {
		if mode&bit == 0 {
			return
		}
		if b[i] == 'x' {
			b[i] = set
		} else {
			b[i] = unset
		}
	}
	exec(3, 04000, 's', 'S')
	exec(6, 02000, 's', 'S')
	exec(9, 01000, 't', 'T')
	return string(b)
}

// HumanSize renders a byte count as 1.2K, 3.4M... for tables.
func HumanSize(v any, o TableOptions) string {
	n, ok := v.(int64)
	if !ok {
		return dashNull(v, o)
	}
	if o.NoTrunc || n < 1024 {
		return fmt.Sprint(n)
	}
	f := float64(n)
	for _, u := range []string{"K", "M", "G", "T"} {
		f /= 1024
		if f < 1024 || u == "T" {
			if f < 10 {
				return fmt.Sprintf("%.1f%s", f, u)
			}
			return fmt.Sprintf("%.0f%s", f, u)
		}
	}
	return fmt.Sprint(n)
}

// Octal renders a mode as 0755 / 04755.
func Octal(v any, o TableOptions) string {
	n, ok := v.(int64)
	if !ok {
		return dashNull(v, o)
	}
	return fmt.Sprintf("%04o", n)
}

// YesNo renders a bool.
func YesNo(v any, _ TableOptions) string {
	if b, ok := v.(bool); ok {
		if b {
			return "yes"
		}
		return "no"
	}
	return Cell(v)
}

// Platform joins os, architecture and variant as os/arch[/variant].
func Platform(os, arch, variant string) string {
	if os == "" && arch == "" {
		return ""
	}
	s := os + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
}
