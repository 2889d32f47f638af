//go:build linux

package udprelay

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18): a run of
// equal-sized datagrams to one address leaves in one sendmsg, as one
// buffer the kernel cuts into datagrams of gso_size bytes (the last may be
// shorter) after routing, on the device or, on loopback, at the receiving
// socket. Each datagram still arrives whole and alone: the receiver cannot
// tell. What is saved is the per-datagram work of the send path (building,
// routing and queueing each packet), which at 100k datagrams/s on two
// cores was most of the relay's CPU time.
const (
	gsoMaxSegments = 64    // UDP_MAX_SEGMENTS in kernels before 6.x
	gsoMaxBytes    = 65000 // the run's payload must fit one IP packet
)

// gsoState is a writer's segmentation offload: its sendmsg header and
// control message, made once, and what it learnt the kernel refuses.
type gsoState struct {
	msg  unix.Msghdr
	ctrl []byte
	// maxSize: runs of datagrams this large or larger go one by one (the
	// kernel refused such a segment size: larger than the route's MTU).
	// 0 turns offload off (the kernel has none).
	maxSize int
}

func (g *gsoState) init() {
	g.ctrl = make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&g.ctrl[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	g.maxSize = gsoMaxBytes
}

// run is how many datagrams at the start of hdrs can leave as one segmented
// send: consecutive ones of the first one's size, the last possibly
// shorter. size is that segment size, total their bytes.
func (g *gsoState) run(hdrs []unix.Mmsghdr) (n, size, total int) {
	if len(hdrs) < 2 {
		return 0, 0, 0
	}
	size = int(hdrs[0].Hdr.Iov.Len)
	if size == 0 || size >= g.maxSize {
		return 0, 0, 0
	}
	for n < len(hdrs) && n < gsoMaxSegments {
		l := int(hdrs[n].Hdr.Iov.Len)
		if l > size || l == 0 || total+l > gsoMaxBytes {
			break
		}
		total += l
		n++
		if l < size {
			break // a shorter one ends the run
		}
	}
	return n, size, total
}

// send sends hdrs[:n] (all to hdrs[0]'s address) as one segmented
// datagram. Their iovecs must be consecutive in memory, as in mmsgs.
func (g *gsoState) send(fd int, hdrs []unix.Mmsghdr, n, size int) unix.Errno {
	first := &hdrs[0].Hdr
	g.msg.Name, g.msg.Namelen = first.Name, first.Namelen
	g.msg.Iov = first.Iov
	g.msg.SetIovlen(n)
	*(*uint16)(unsafe.Pointer(&g.ctrl[unix.CmsgLen(0)])) = uint16(size)
	g.msg.Control = &g.ctrl[0]
	g.msg.SetControllen(len(g.ctrl))
	_, _, e := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&g.msg)), unix.MSG_DONTWAIT)
	return e
}

// refused notes that the kernel would not segment a run of size-byte
// datagrams with error e.
func (g *gsoState) refused(e unix.Errno, size int) {
	switch e {
	case unix.EINVAL, unix.EMSGSIZE:
		g.maxSize = min(g.maxSize, size)
	case unix.ENOPROTOOPT, unix.EOPNOTSUPP, unix.EIO:
		g.maxSize = 0
	}
}
