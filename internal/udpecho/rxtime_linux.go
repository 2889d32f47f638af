//go:build linux && (amd64 || arm64)

package udpecho

import (
	"encoding/binary"
	"net"
	"syscall"
	"time"
)

// sockBuf is the reflector's socket buffer: room for a few milliseconds
// of a gigabit stream while the serving goroutine waits for a CPU, so a
// busy host drops less (what it still drops is counted: SO_RXQ_OVFL).
const sockBuf = 4 << 20

// rxTimestamps asks the kernel to stamp each datagram as it arrives
// (SO_TIMESTAMPNS, socket(7)), so the reflector's receive time does not
// include the wait in the socket queue or for the scheduler; to count the
// datagrams the socket drops (SO_RXQ_OVFL); and for larger buffers.
func rxTimestamps(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		s := int(fd)
		// The FORCE variants pass net.core.rmem_max when we are root.
		if syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, sockBuf) != nil {
			_ = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF, sockBuf)
		}
		if syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, sockBuf) != nil {
			_ = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_SNDBUF, sockBuf)
		}
		_ = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
		serr = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// oobSize is room for an SCM_TIMESTAMPNS, an SO_RXQ_OVFL and a UDP_GRO
// message.
const oobSize = 128

// cmsgData finds the data of the first control message of level and typ
// with at least minLen bytes in oob, without allocating. On 64-bit Linux a
// cmsghdr is {len uint64; level, type int32} followed by the data, each
// message aligned to 8 bytes.
func cmsgData(oob []byte, level, typ int32, minLen int) ([]byte, bool) {
	const hdr = 16
	for len(oob) >= hdr {
		l := binary.NativeEndian.Uint64(oob[0:8])
		lv := int32(binary.NativeEndian.Uint32(oob[8:12]))
		ty := int32(binary.NativeEndian.Uint32(oob[12:16]))
		if l < hdr || l > uint64(len(oob)) {
			return nil, false
		}
		if lv == level && ty == typ && l >= uint64(hdr+minLen) {
			return oob[hdr:l], true
		}
		next := (l + 7) &^ 7
		if next > uint64(len(oob)) {
			break
		}
		oob = oob[next:]
	}
	return nil, false
}

// parseRxDrops finds the socket's cumulative drop count (SO_RXQ_OVFL) in a
// control-message buffer without allocating.
func parseRxDrops(oob []byte) (uint32, bool) {
	d, ok := cmsgData(oob, syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 4)
	if !ok {
		return 0, false
	}
	return binary.NativeEndian.Uint32(d[:4]), true
}

// parseRxTime finds SCM_TIMESTAMPNS in a control-message buffer without
// allocating; its data is a timespec {sec, nsec int64}.
func parseRxTime(oob []byte) (time.Time, bool) {
	d, ok := cmsgData(oob, syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, 16)
	if !ok {
		return time.Time{}, false
	}
	sec := int64(binary.NativeEndian.Uint64(d[0:8]))
	nsec := int64(binary.NativeEndian.Uint64(d[8:16]))
	if sec <= 0 || nsec < 0 || nsec >= 1e9 {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec), true
}
