//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package udpecho

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePortConfig binds with SO_REUSEPORT (socket(7)): several sockets on
// one address, the kernel choosing one per flow by a hash of its
// addresses and ports.
func reusePortConfig() *net.ListenConfig {
	return &net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
}

// reusePort reports whether c was bound with SO_REUSEPORT (by Listen).
func reusePort(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		v, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT)
	}); err != nil || gerr != nil {
		return false
	}
	return v != 0
}
