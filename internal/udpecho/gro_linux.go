//go:build linux && (amd64 || arm64)

package udpecho

import (
	"encoding/binary"
	"net"

	"golang.org/x/sys/unix"
)

// enableGRO asks the kernel to hand the socket trains of datagrams of one
// flow coalesced into one buffer (UDP_GRO, Linux 5.0, udp(7)); each read
// then says the segment size in a UDP_GRO control message. On loopback a
// train is exactly one segmented send (UDP_SEGMENT) of the sender, which
// the kernel then never cuts up. It reports whether the kernel agreed.
func enableGRO(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// parseGRO finds the UDP_GRO segment size in a control-message buffer
// without allocating (64-bit layout, as parseRxTime).
func parseGRO(oob []byte) (int, bool) {
	const hdr = 16
	for len(oob) >= hdr {
		l := binary.NativeEndian.Uint64(oob[0:8])
		level := int32(binary.NativeEndian.Uint32(oob[8:12]))
		typ := int32(binary.NativeEndian.Uint32(oob[12:16]))
		if l < hdr || l > uint64(len(oob)) {
			return 0, false
		}
		if level == unix.SOL_UDP && typ == unix.UDP_GRO && l >= hdr+4 {
			n := int(int32(binary.NativeEndian.Uint32(oob[hdr : hdr+4])))
			return n, n > 0
		}
		next := (l + 7) &^ 7
		if next > uint64(len(oob)) {
			break
		}
		oob = oob[next:]
	}
	return 0, false
}
