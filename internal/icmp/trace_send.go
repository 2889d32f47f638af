package icmp

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/socklab/socklab/internal/icmp/probe"
)

// How a probe's index travels and comes back, per protocol. Only fields no
// router hashes may change between a flow's probes (Paris traceroute):
//
//   - UDP: the datagram's length (base + probe number in the flow); ports
//     stay fixed, the source port names the flow.
//   - ICMP: the echo sequence number; a payload word keeps the checksum
//     fixed (probe.ParisWord), the echo id names the flow.
//   - TCP: the SYN's sequence number; the source port names the flow.

// seqInFlow numbers idx among the probes of its flow.
func (t *Tracer) seqInFlow(idx int) int {
	return idx/t.perHop()*t.cfg.Queries + idx%t.cfg.Queries
}

// indexOf is the inverse of (flowOf, seqInFlow).
func (t *Tracer) indexOf(flow, k int) int {
	return k/t.cfg.Queries*t.perHop() + flow*t.cfg.Queries + k%t.cfg.Queries
}

// localAddr is the source address the kernel picks for dst, found by
// connecting a UDP socket (no packet is sent).
func localAddr(dst netip.Addr, port int) (netip.Addr, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, uint16(port))))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("find source address for %s: %w", dst, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

type udpSender struct {
	t     *Tracer
	dst   netip.AddrPort
	conns []*net.UDPConn
	ports map[uint16]int // source port → flow
}

func (t *Tracer) newUDPSender() (*udpSender, error) {
	s := &udpSender{t: t, dst: netip.AddrPortFrom(t.cfg.Target, uint16(t.cfg.Port)), ports: map[uint16]int{}}
	network := "udp4"
	if t.v6 {
		network = "udp6"
	}
	for flow := range t.cfg.Flows {
		c, err := net.ListenUDP(network, nil)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("open udp probe socket: %w", err)
		}
		s.conns = append(s.conns, c)
		s.ports[uint16(c.LocalAddr().(*net.UDPAddr).Port)] = flow
	}
	return s, nil
}

func (s *udpSender) send(idx, ttl int) error {
	c := s.conns[s.t.flowOf(idx)]
	var err error
	if s.t.v6 {
		err = ipv6.NewConn(c).SetHopLimit(ttl)
	} else {
		err = ipv4.NewConn(c).SetTTL(ttl)
	}
	if err != nil {
		return fmt.Errorf("set ttl %d: %w", ttl, err)
	}
	if s.t.cfg.StepPort {
		// Classic: the port names the probe; the length stays put.
		dst := netip.AddrPortFrom(s.dst.Addr(), s.dst.Port()+uint16(s.t.seqInFlow(idx)))
		_, err = c.WriteToUDPAddrPort(make([]byte, s.t.base), dst)
		return err
	}
	payload := make([]byte, s.t.base+s.t.seqInFlow(idx))
	_, err = c.WriteToUDPAddrPort(payload, s.dst)
	return err
}

func (s *udpSender) close() {
	for _, c := range s.conns {
		c.Close()
	}
}

type icmpSender struct {
	t *Tracer
	c Conn
}

func (s *icmpSender) send(idx, ttl int) error {
	payload := make([]byte, s.t.base)
	seq := uint16(idx)
	w := probe.ParisWord(seq)
	payload[0], payload[1] = byte(w>>8), byte(w)
	id := s.t.id | uint16(s.t.flowOf(idx))
	return s.c.WriteTo(probe.AppendEcho(nil, s.t.v6, id, seq, payload), s.t.cfg.Target, ttl)
}

func (s *icmpSender) close() {} // the ICMP socket is closed by Run

type tcpSender struct {
	t        *Tracer
	c        *sockConn
	src      netip.Addr
	ports    []uint16
	reserved []int
	byPort   map[uint16]int
}

func (t *Tracer) newTCPSender() (*tcpSender, error) {
	src, err := localAddr(t.cfg.Target, t.cfg.Port)
	if err != nil {
		return nil, err
	}
	c, err := listenProto(ListenConfig{V6: t.v6}, syscall.SOCK_RAW, probe.ProtoTCP)
	if err != nil {
		return nil, err
	}
	if err := c.attachSourcePortFilter(uint16(t.cfg.Port)); err != nil {
		t.log.Debug("traceroute: no socket filter, reading all tcp", "err", err)
	}
	s := &tcpSender{t: t, c: c, src: src, byPort: map[uint16]int{}}
	for flow := range t.cfg.Flows {
		port, fd, err := reserveTCPPort(src)
		if err != nil {
			s.close()
			return nil, err
		}
		s.ports = append(s.ports, port)
		s.reserved = append(s.reserved, fd)
		s.byPort[port] = flow
	}
	return s, nil
}

func (s *tcpSender) send(idx, ttl int) error {
	seq := s.t.seq0 + uint32(idx)
	syn := probe.AppendTCPSyn(nil, s.src, s.t.cfg.Target, s.ports[s.t.flowOf(idx)], uint16(s.t.cfg.Port), seq)
	return s.c.WriteTo(syn, s.t.cfg.Target, ttl)
}

func (s *tcpSender) close() {
	s.c.Close()
	for _, fd := range s.reserved {
		closeFD(fd)
	}
}
