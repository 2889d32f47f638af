//go:build linux

package udprelay

import (
	"net"

	"golang.org/x/sys/unix"
)

// receiveBuffer is the receive buffer the kernel granted c, in the units
// SO_RCVBUF was set in: Linux reports twice that, the rest being its
// bookkeeping allowance (socket(7)).
func receiveBuffer(c *net.UDPConn) (int, bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		got, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	}); err != nil || gerr != nil {
		return 0, false
	}
	return got / 2, true
}
