//go:build linux

package qos

import (
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockBuf is the socket buffer size asked for: enough for a burst of
// 1400-byte probes at a few Gbit/s without kernel drops on our side.
const sockBuf = 4 << 20

// tuneSocket enlarges the buffers and asks the kernel for receive
// timestamps (SO_TIMESTAMPNS: arrival time without the scheduler's wake-up
// delay) and the socket's drop counter (SO_RXQ_OVFL). It reports which of
// the two the kernel accepted; failures only cost precision.
func tuneSocket(c *net.UDPConn) (timestamps, drops bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return false, false
	}
	_ = rc.Control(func(fd uintptr) {
		s := int(fd)
		// The FORCE variants pass net.core.rmem_max when we are root.
		if unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, sockBuf) != nil {
			_ = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUF, sockBuf)
		}
		if unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sockBuf) != nil {
			_ = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_SNDBUF, sockBuf)
		}
		timestamps = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) == nil
		drops = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1) == nil
	})
	return timestamps, drops
}

// oobSize fits a timespec and a drop counter, each in its own cmsg.
const oobSize = 128

// parseOOB reads the control messages tuneSocket asked for: the kernel's
// receive time (Unix ns, 0 if absent) and the socket's cumulative drop
// count. It allocates nothing.
func parseOOB(oob []byte) (rxUnixNs int64, drops uint32, haveDrops bool) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return
		}
		data := oob[unix.CmsgLen(0):l]
		if h.Level == unix.SOL_SOCKET {
			switch h.Type {
			case unix.SCM_TIMESTAMPNS:
				if len(data) >= int(unsafe.Sizeof(unix.Timespec{})) {
					ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
					rxUnixNs = ts.Nano()
				}
			case unix.SO_RXQ_OVFL:
				if len(data) >= 4 {
					drops = *(*uint32)(unsafe.Pointer(&data[0]))
					haveDrops = true
				}
			}
		}
		next := unix.CmsgSpace(l - unix.CmsgLen(0))
		if next > len(oob) {
			return
		}
		oob = oob[next:]
	}
	return
}
