//go:build linux && (amd64 || arm64)

package udpecho

import (
	"encoding/binary"
	"errors"
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
	d, ok := cmsgData(oob, unix.SOL_UDP, unix.UDP_GRO, 4)
	if !ok {
		return 0, false
	}
	n := int(int32(binary.NativeEndian.Uint32(d[:4])))
	return n, n > 0
}

// UDP segmentation offload for the answers (UDP_SEGMENT, Linux 4.18): a
// run of answers to one address, all of one size but the last, leaves in
// one sendmsg whose buffers the kernel cuts into datagrams of that size;
// each still arrives alone and whole. A GRO train of probes is answered
// as such a run.
const (
	gsoMaxSegments = 64    // UDP_MAX_SEGMENTS before Linux 6.9
	gsoMaxBytes    = 65000 // a run must fit one IP datagram
)

// gsoAvailable asks the socket whether the kernel segments UDP.
func gsoAvailable(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		_, gerr = unix.GetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT)
	}); err != nil || gerr != nil {
		return false
	}
	return true
}

// gsoControlSize is the length of a UDP_SEGMENT control message.
var gsoControlSize = unix.CmsgSpace(2)

// putGSOControl writes into b (gsoControlSize bytes) the control message
// asking for size-byte segments (the kernel wants exactly a __u16).
func putGSOControl(b []byte, size int) {
	binary.NativeEndian.PutUint64(b[0:8], uint64(unix.CmsgLen(2)))
	binary.NativeEndian.PutUint32(b[8:12], uint32(unix.SOL_UDP))
	binary.NativeEndian.PutUint32(b[12:16], uint32(unix.UDP_SEGMENT))
	binary.NativeEndian.PutUint16(b[16:18], uint16(size))
}

// gsoRefused reports whether err is the kernel declining to segment
// (EIO where the device cannot checksum segments or the socket sends
// without checksums, EINVAL or EMSGSIZE for a segment over the route's
// MTU, ENOPROTOOPT or EOPNOTSUPP without support) rather than the send
// failing.
func gsoRefused(err error) bool {
	for _, e := range []error{unix.EIO, unix.EINVAL, unix.EMSGSIZE, unix.ENOPROTOOPT, unix.EOPNOTSUPP} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
