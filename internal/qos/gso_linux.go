//go:build linux

package qos

import (
	"errors"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18, udp(7)): a
// run of equal-sized probes leaves in one sendmsg as one buffer that the
// kernel cuts into datagrams of gso_size bytes after routing (on loopback,
// at the receiving socket). Each probe still arrives alone and whole, with
// the header and stamp the sender wrote: the receiver cannot tell. What is
// saved is the send path's per-datagram work, the sender's ceiling.
const (
	gsoMaxSegments = 64    // UDP_MAX_SEGMENTS before Linux 6.9 (128 since)
	gsoMaxBytes    = 65000 // a run's payload must fit one IP datagram
)

// gsoSegments probes the socket for segmentation offload (getsockopt
// UDP_SEGMENT answers on kernels that have it) and returns how many probes
// of size bytes one segmented send may carry; 0 means no offload.
func gsoSegments(c *net.UDPConn, size int) int {
	segs := min(gsoMaxSegments, gsoMaxBytes/max(size, 1))
	if segs < 2 {
		return 0
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		_, gerr = unix.GetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT)
	}); err != nil || gerr != nil {
		return 0
	}
	return segs
}

// gsoControl is the control message asking for size-byte segments; the
// kernel wants exactly a __u16.
func gsoControl(size int) []byte {
	b := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&b[unix.CmsgLen(0)])) = uint16(size)
	return b
}

// gsoRefused reports whether err is the kernel declining to segment rather
// than the send failing: EIO where the route's device cannot checksum the
// segments (or the socket sends without checksums), EINVAL or EMSGSIZE for
// a segment larger than the route's MTU, ENOPROTOOPT or EOPNOTSUPP on a
// kernel without it. The probes then go one datagram each.
func gsoRefused(err error) bool {
	for _, e := range []error{unix.EIO, unix.EINVAL, unix.EMSGSIZE, unix.ENOPROTOOPT, unix.EOPNOTSUPP} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
