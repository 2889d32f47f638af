//go:build linux

package udprelay

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgs is a batch of datagrams for one recvmmsg(2) or sendmmsg(2) call.
// Its headers point at its own iovecs and address slots (and, for a
// receive batch, at its own buffers), all made once and reused, so moving
// a datagram allocates nothing.
type mmsgs struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // room for either family's address
	bufs  [][]byte                // receive buffers; nil in a send-only batch
}

func newMmsgs(n int, withBufs bool) *mmsgs {
	m := &mmsgs{
		hdrs:  make([]unix.Mmsghdr, n),
		iovs:  make([]unix.Iovec, n),
		names: make([]unix.RawSockaddrInet6, n),
	}
	if withBufs {
		m.bufs = make([][]byte, n)
		for i := range m.bufs {
			m.bufs[i] = make([]byte, bufSize)
		}
	}
	for i := range m.hdrs {
		m.hdrs[i].Hdr.Iov = &m.iovs[i]
		m.hdrs[i].Hdr.SetIovlen(1)
	}
	return m
}

// recv reads up to len(m.hdrs) datagrams from the non-blocking socket fd
// without waiting. Datagram i is m.bufs[i][:m.hdrs[i].Len], from the
// address in m.names[i].
//
// It calls the kernel with RawSyscall: the socket never blocks, and a plain
// Syscall would tell the scheduler this goroutine may block, whereupon the
// runtime's monitor hands its processor to another thread and this one
// parks on the way out. At 100k datagrams/s on two cores those handoffs,
// not the relaying, were the relay's largest cost.
func (m *mmsgs) recv(fd int) (int, unix.Errno) {
	for i := range m.hdrs {
		h := &m.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&m.names[i]))
		h.Namelen = unix.SizeofSockaddrInet6
		h.Flags = 0
		m.iovs[i].Base = &m.bufs[i][0]
		m.iovs[i].SetLen(len(m.bufs[i]))
		m.hdrs[i].Len = 0
	}
	n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdrs[0])), uintptr(len(m.hdrs)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

// payload is datagram i of a receive batch.
func (m *mmsgs) payload(i int) []byte { return m.bufs[i][:m.hdrs[i].Len] }

// from is the source address of datagram i of a receive batch.
func (m *mmsgs) from(i int) (netip.AddrPort, bool) {
	return sockaddrToAddrPort(&m.names[i], m.hdrs[i].Hdr.Namelen)
}

// setSend makes message i of m carry p to the address sa (nil on a
// connected socket).
func (m *mmsgs) setSend(i int, p []byte, sa *sockaddr) {
	h := &m.hdrs[i].Hdr
	if sa == nil {
		h.Name, h.Namelen = nil, 0
	} else {
		h.Name, h.Namelen = (*byte)(unsafe.Pointer(&sa.raw)), sa.len
	}
	h.Flags = 0
	if len(p) == 0 {
		m.iovs[i].Base = nil
	} else {
		m.iovs[i].Base = &p[0]
	}
	m.iovs[i].SetLen(len(p))
}

// sendmmsg sends hdrs on the non-blocking socket fd without waiting and
// returns how many left; the error concerns the first one that did not. See
// recv for why RawSyscall.
func sendmmsg(fd int, hdrs []unix.Mmsghdr) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

// sockaddr is a client's address in the form sendmmsg takes, made once per
// session.
type sockaddr struct {
	raw unix.RawSockaddrInet6 // or a RawSockaddrInet4 in its first bytes
	len uint32
}

// makeSockaddr encodes ap for a socket of the given family (AF_INET or
// AF_INET6; an IPv4 client of a dual-stack socket is sent to as ::ffff:a.b.c.d).
func makeSockaddr(family int, ap netip.AddrPort) sockaddr {
	var sa sockaddr
	port := ap.Port()
	if family == unix.AF_INET {
		a4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.raw))
		a4.Family = unix.AF_INET
		putPort(&a4.Port, port)
		a4.Addr = ap.Addr().Unmap().As4()
		sa.len = unix.SizeofSockaddrInet4
		return sa
	}
	sa.raw.Family = unix.AF_INET6
	putPort(&sa.raw.Port, port)
	sa.raw.Addr = ap.Addr().As16()
	if z := ap.Addr().Zone(); z != "" {
		sa.raw.Scope_id = zoneIndex(z)
	}
	sa.len = unix.SizeofSockaddrInet6
	return sa
}

// putPort stores port in network byte order.
func putPort(dst *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(src *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(src))
	return uint16(b[0])<<8 | uint16(b[1])
}

// sockaddrToAddrPort decodes an address recvmmsg wrote. A link-local IPv6
// source keeps its scope as a zone (the interface name when known), so
// replies find their way back.
func sockaddrToAddrPort(raw *unix.RawSockaddrInet6, n uint32) (netip.AddrPort, bool) {
	switch {
	case raw.Family == unix.AF_INET && n >= unix.SizeofSockaddrInet4:
		a4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(raw))
		return netip.AddrPortFrom(netip.AddrFrom4(a4.Addr), getPort(&a4.Port)), true
	case raw.Family == unix.AF_INET6 && n >= unix.SizeofSockaddrInet6:
		a := netip.AddrFrom16(raw.Addr)
		if raw.Scope_id != 0 {
			a = a.WithZone(zoneName(raw.Scope_id))
		}
		return netip.AddrPortFrom(a, getPort(&raw.Port)), true
	}
	return netip.AddrPort{}, false
}
