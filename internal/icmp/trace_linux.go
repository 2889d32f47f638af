package icmp

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// reserveTCPPort binds (without listening) a TCP socket to an ephemeral port
// so no connection of ours uses the port our SYNs come from; answers to them
// then meet no socket and the kernel resets them, as it should.
func reserveTCPPort(src netip.Addr) (uint16, int, error) {
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Addr: src.As16()}
	if src.Is4() {
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Addr: src.As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, -1, fmt.Errorf("reserve tcp port: %w", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return 0, -1, fmt.Errorf("reserve tcp port on %s: %w", src, err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return 0, -1, fmt.Errorf("reserve tcp port: %w", err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		return uint16(a.Port), fd, nil
	case *unix.SockaddrInet6:
		return uint16(a.Port), fd, nil
	}
	unix.Close(fd)
	return 0, -1, fmt.Errorf("reserve tcp port: unexpected address %T", got)
}

// closeFD releases a port reserved by reserveTCPPort.
func closeFD(fd int) { unix.Close(fd) }
