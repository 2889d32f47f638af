package icmp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/icmp/probe"
)

// Listen opens an ICMP socket as cfg says. With SocketAuto it falls back from
// raw to datagram, and when both are refused it returns ErrNoPermission.
func Listen(cfg ListenConfig) (Conn, error) {
	switch cfg.Mode {
	case SocketRaw:
		return listen(cfg, unix.SOCK_RAW)
	case SocketDatagram:
		return listen(cfg, unix.SOCK_DGRAM)
	}
	c, rawErr := listen(cfg, unix.SOCK_RAW)
	if rawErr == nil {
		return c, nil
	}
	c, dgramErr := listen(cfg, unix.SOCK_DGRAM)
	if dgramErr == nil {
		return c, nil
	}
	if isPermission(rawErr) && isPermission(dgramErr) {
		return nil, ErrNoPermission
	}
	return nil, fmt.Errorf("%w; %w", rawErr, dgramErr)
}

func isPermission(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

// sockConn is a Conn over a socket the net poller watches, read with
// recvmsg so control messages (TTL, timestamps) come along.
type sockConn struct {
	pc    net.PacketConn
	rc    syscall.RawConn
	v6    bool
	raw   bool
	proto int
	name  string

	mu  sync.Mutex // serialises TTL changes with writes
	ttl int
}

func listen(cfg ListenConfig, sotype int) (*sockConn, error) {
	proto := probe.ProtoICMP
	if cfg.V6 {
		proto = probe.ProtoICMPv6
	}
	return listenProto(cfg, sotype, proto)
}

// listenProto opens a raw or datagram socket for an IP protocol: ICMP for
// ping and traceroute, TCP for sending SYN probes and seeing the answers.
func listenProto(cfg ListenConfig, sotype, proto int) (*sockConn, error) {
	family, fam := unix.AF_INET, "ipv4"
	if cfg.V6 {
		family, fam = unix.AF_INET6, "ipv6"
	}
	kind := "raw"
	if sotype == unix.SOCK_DGRAM {
		kind = "datagram"
	}
	pname := map[int]string{probe.ProtoICMP: "icmp", probe.ProtoICMPv6: "icmpv6", probe.ProtoTCP: "tcp"}[proto]
	name := fmt.Sprintf("%s %s %s", kind, fam, pname)
	fd, err := unix.Socket(family, sotype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, fmt.Errorf("open %s socket: %w", name, err)
	}
	opts := []struct{ level, opt, val int }{
		{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1},
	}
	if sotype == unix.SOCK_DGRAM {
		// A ping socket hears ICMP errors (time exceeded, unreachable) only
		// through its error queue (ip(7) IP_RECVERR).
		if cfg.V6 {
			opts = append(opts, struct{ level, opt, val int }{unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1})
		} else {
			opts = append(opts, struct{ level, opt, val int }{unix.IPPROTO_IP, unix.IP_RECVERR, 1})
		}
	}
	if cfg.V6 {
		opts = append(opts, struct{ level, opt, val int }{unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1})
		switch cfg.PMTU {
		case PMTUDo:
			opts = append(opts, struct{ level, opt, val int }{unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DO},
				struct{ level, opt, val int }{unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG, 1})
		case PMTUDont:
			opts = append(opts, struct{ level, opt, val int }{unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DONT})
		}
	} else {
		opts = append(opts, struct{ level, opt, val int }{unix.IPPROTO_IP, unix.IP_RECVTTL, 1})
		switch cfg.PMTU {
		case PMTUDo:
			opts = append(opts, struct{ level, opt, val int }{unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO})
		case PMTUDont:
			opts = append(opts, struct{ level, opt, val int }{unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT})
		}
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.val); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("setsockopt on %s socket: %w", name, err)
		}
	}
	if cfg.Device != "" {
		if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, cfg.Device); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("bind %s socket to interface %s: %w", name, cfg.Device, err)
		}
	}
	f := os.NewFile(uintptr(fd), name)
	pc, err := net.FilePacketConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("wrap %s socket: %w", name, err)
	}
	rc, err := pc.(syscall.Conn).SyscallConn()
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("wrap %s socket: %w", name, err)
	}
	return &sockConn{pc: pc, rc: rc, v6: cfg.V6, raw: sotype == unix.SOCK_RAW, proto: proto, name: name}, nil
}

func (c *sockConn) Raw() bool    { return c.raw }
func (c *sockConn) Close() error { return c.pc.Close() }

func (c *sockConn) ReadPacket(buf []byte) (Packet, error) {
	var oob [128]byte
	for {
		var n, oobn int
		var from unix.Sockaddr
		var rerr error
		queued := false
		err := c.rc.Read(func(fd uintptr) bool {
			if !c.raw {
				n, oobn, _, from, rerr = unix.Recvmsg(int(fd), buf, oob[:], unix.MSG_ERRQUEUE)
				if rerr == nil {
					queued = true
					return true
				}
			}
			n, oobn, _, from, rerr = unix.Recvmsg(int(fd), buf, oob[:], 0)
			return rerr != unix.EAGAIN && rerr != unix.EWOULDBLOCK
		})
		if err != nil {
			return Packet{}, fmt.Errorf("read %s: %w", c.name, err)
		}
		if rerr != nil {
			if isPendingSocketError(rerr) {
				// An ICMP error set sk_err, which this read returned in
				// place of data; the details wait in the error queue.
				continue
			}
			return Packet{}, fmt.Errorf("read %s: %w", c.name, rerr)
		}
		p := Packet{Data: buf[:n], TTL: -1, Read: time.Now()}
		p.From = sockaddrAddr(from)
		parseControl(oob[:oobn], &p)
		if queued {
			if !c.fromErrorQueue(&p, oob[:oobn]) {
				continue
			}
			return p, nil
		}
		if c.raw && !c.v6 {
			// Raw IPv4 sockets deliver the IP header (raw(7)).
			h, rest, err := probe.ParseIPv4Header(p.Data)
			if err != nil {
				continue
			}
			p.Data, p.TTL = rest, int(h.TTL)
		}
		return p, nil
	}
}

func parseControl(oob []byte, p *Packet) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= 16:
			ts := (*unix.Timespec)(unsafePointer(m.Data))
			p.Kernel = time.Unix(ts.Sec, ts.Nsec)
		case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_TTL && len(m.Data) >= 4:
			p.TTL = int(nativeInt32(m.Data))
		case m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_HOPLIMIT && len(m.Data) >= 4:
			p.TTL = int(nativeInt32(m.Data))
		}
	}
}

func (c *sockConn) WriteTo(msg []byte, dst netip.Addr, ttl int) error {
	var sa unix.Sockaddr
	if c.v6 {
		sa = &unix.SockaddrInet6{Addr: dst.As16()}
	} else {
		if !dst.Is4() && !dst.Is4In6() {
			return fmt.Errorf("write %s to %s: not an ipv4 address", c.name, dst)
		}
		sa = &unix.SockaddrInet4{Addr: dst.Unmap().As4()}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ttl != c.ttl {
		if err := c.setTTL(ttl); err != nil {
			return fmt.Errorf("set ttl %d: %w", ttl, err)
		}
		c.ttl = ttl
	}
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		if !c.raw {
			// An ICMP error already taken from the error queue also left
			// sk_err set, which would fail this send; reading SO_ERROR clears it.
			_, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		}
		werr = unix.Sendto(int(fd), msg, 0, sa)
		for try := 0; try < 3 && !c.raw && isPendingSocketError(werr); try++ {
			// The error was an earlier ICMP error's, reported now and
			// cleared by reporting it: the datagram was not sent yet.
			werr = unix.Sendto(int(fd), msg, 0, sa)
		}
		return werr != unix.EAGAIN && werr != unix.EWOULDBLOCK
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("write %s to %s: %w", c.name, dst, err)
	}
	return nil
}

// setTTL sets the unicast TTL / hop limit; 0 restores the default (-1 to
// the kernel).
func (c *sockConn) setTTL(ttl int) error {
	return setTTL(c.rc, c.v6, ttl)
}

func setTTL(rc syscall.RawConn, v6 bool, ttl int) error {
	if ttl == 0 {
		ttl = -1 // both options take -1 as "the route's / system default"
	}
	var serr error
	err := rc.Control(func(fd uintptr) {
		if v6 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, ttl)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, ttl)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

func sockaddrAddr(sa unix.Sockaddr) netip.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(sa.Addr)
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(sa.Addr)
	}
	return netip.Addr{}
}

// fromErrorQueue turns an error-queue entry of a ping socket (our original
// echo request, the destination it went to, and a sock_extended_err naming
// the ICMP type, code and the router that sent it) back into the ICMP error
// message a raw socket would have read, so the engines see one kind of input.
func (c *sockConn) fromErrorQueue(p *Packet, oob []byte) bool {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return false
	}
	for _, m := range msgs {
		if !(m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR) &&
			!(m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR) {
			continue
		}
		const eeLen = 16 // sizeof(struct sock_extended_err)
		if len(m.Data) < eeLen {
			return false
		}
		origin, typ, code := m.Data[4], m.Data[5], m.Data[6]
		info := nativeUint32(m.Data[8:])
		if origin != unix.SO_EE_ORIGIN_ICMP && origin != unix.SO_EE_ORIGIN_ICMP6 {
			return false // a local error (EMSGSIZE...), not a router's message
		}
		dst := p.From
		p.From = offender(m.Data[eeLen:], c.v6)
		p.Data = synthesizeError(c.v6, typ, code, info, dst, p.Data)
		return true
	}
	return false
}

// offender reads SO_EE_OFFENDER: the sockaddr after sock_extended_err.
func offender(b []byte, v6 bool) netip.Addr {
	if v6 && len(b) >= 24 {
		return netip.AddrFrom16([16]byte(b[8:24]))
	}
	if !v6 && len(b) >= 8 {
		return netip.AddrFrom4([4]byte(b[4:8]))
	}
	return netip.Addr{}
}

// synthesizeError builds an ICMP error quoting an IP header to dst and the
// original ICMP message.
func synthesizeError(v6 bool, typ, code uint8, info uint32, dst netip.Addr, orig []byte) []byte {
	b := []byte{typ, code, 0, 0, byte(info >> 24), byte(info >> 16), byte(info >> 8), byte(info)}
	if !v6 && typ == probe.V4DestUnreach && code == 4 {
		b[4], b[5], b[6], b[7] = 0, 0, byte(info>>8), byte(info) // next-hop MTU sits in the low half
	}
	if v6 {
		n := len(orig)
		b = append(b, 0x60, 0, 0, 0, byte(n>>8), byte(n), probe.ProtoICMPv6, 0)
		b = append(b, make([]byte, 16)...) // source: unknown here, unused
		b = append(b, dst.AsSlice()...)
	} else {
		n := 20 + len(orig)
		b = append(b, 0x45, 0, byte(n>>8), byte(n), 0, 0, 0, 0, 0, probe.ProtoICMP, 0, 0, 0, 0, 0, 0)
		b = append(b, dst.Unmap().AsSlice()...)
	}
	return append(b, orig...)
}

// attachSourcePortFilter makes a raw TCP socket keep only segments from
// port: a raw TCP socket otherwise gets a copy of every TCP segment the host
// receives, and on a busy host reading them all delays the answers we want.
// IPv4 raw sockets see the IP header first; IPv6 ones the TCP header.
func (c *sockConn) attachSourcePortFilter(port uint16) error {
	var prog []bpf.Instruction
	if c.v6 {
		prog = append(prog, bpf.LoadAbsolute{Off: 0, Size: 2})
	} else {
		prog = append(prog, bpf.LoadMemShift{Off: 0}, bpf.LoadIndirect{Off: 0, Size: 2})
	}
	prog = append(prog,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(port), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	)
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return err
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	var serr error
	err = c.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog)
	})
	if err != nil {
		return err
	}
	return serr
}

// isPendingSocketError reports errors a read returns once because an ICMP
// error arrived for the socket (ip(7), IP_RECVERR), not because it broke.
func isPendingSocketError(err error) bool {
	switch err {
	case unix.EHOSTUNREACH, unix.ENETUNREACH, unix.ECONNREFUSED, unix.EMSGSIZE,
		unix.EPROTO, unix.EACCES, unix.EPERM, unix.ENOPROTOOPT, unix.EOPNOTSUPP:
		return true
	}
	return false
}

// routeMTU is the kernel's MTU for the route to dst (IP_MTU / IPV6_MTU of a
// connected UDP socket: connecting sends nothing), 0 when unknown.
func routeMTU(dst netip.Addr) int {
	network, level, opt := "udp4", unix.IPPROTO_IP, unix.IP_MTU
	if dst.Is6() && !dst.Is4In6() {
		network, level, opt = "udp6", unix.IPPROTO_IPV6, unix.IPV6_MTU
	}
	c, err := net.DialUDP(network, nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst.Unmap(), 9)))
	if err != nil {
		return 0
	}
	defer c.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	mtu := 0
	_ = rc.Control(func(fd uintptr) {
		if v, err := unix.GetsockoptInt(int(fd), level, opt); err == nil {
			mtu = v
		}
	})
	return mtu
}
