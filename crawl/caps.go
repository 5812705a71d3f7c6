package crawl

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// capNames are the Linux capability names by bit number (linux/capability.h).
var capNames = []string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
	"cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
	"cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock",
	"cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
	"cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice", "cap_sys_resource",
	"cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease", "cap_audit_write",
	"cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog",
	"cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
	"cap_checkpoint_restore",
}

// decodeCapabilities renders a security.capability xattr (struct
// vfs_cap_data, versions 1 to 3) the way getcap does: "cap_a,cap_b=eip".
// A value it cannot parse is returned as "raw:<hex>", so nothing is lost.
func decodeCapabilities(b []byte) string {
	raw := "raw:" + hex.EncodeToString(b)
	if len(b) < 12 {
		return raw
	}
	magic := binary.LittleEndian.Uint32(b[0:4])
	effective := magic&1 != 0
	var permitted, inheritable uint64
	switch magic &^ 1 {
	case 0x01000000:
		permitted = uint64(binary.LittleEndian.Uint32(b[4:8]))
		inheritable = uint64(binary.LittleEndian.Uint32(b[8:12]))
	case 0x02000000, 0x03000000:
		if len(b) < 20 {
			return raw
		}
		permitted = uint64(binary.LittleEndian.Uint32(b[4:8])) | uint64(binary.LittleEndian.Uint32(b[12:16]))<<32
		inheritable = uint64(binary.LittleEndian.Uint32(b[8:12])) | uint64(binary.LittleEndian.Uint32(b[16:20]))<<32
	default:
		return raw
	}
	// Group capabilities by their flag set, as getcap prints them.
	groups := map[string][]string{}
	var order []string
	for bit := 0; bit < 64; bit++ {
		p, i := permitted&(1<<bit) != 0, inheritable&(1<<bit) != 0
		if !p && !i {
			continue
		}
		flags := ""
		if effective {
			flags += "e"
		}
		if i {
			flags += "i"
		}
		if p {
			flags += "p"
		}
		name := "cap_" + hex.EncodeToString([]byte{byte(bit)})
		if bit < len(capNames) {
			name = capNames[bit]
		}
		if _, ok := groups[flags]; !ok {
			order = append(order, flags)
		}
		groups[flags] = append(groups[flags], name)
	}
	if len(order) == 0 {
		return raw
	}
	parts := make([]string, len(order))
	for i, f := range order {
		parts[i] = strings.Join(groups[f], ",") + "=" + f
	}
	return strings.Join(parts, " ")
}
