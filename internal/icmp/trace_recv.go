package icmp

import (
	"errors"
	"net"

	"github.com/socklab/socklab/internal/icmp/probe"
)

// readICMP matches ICMP messages to probes through the header each quotes
// (or, for echo replies, the id and sequence number) and passes them on.
func (t *Tracer) readICMP(c Conn, out chan<- answer, done <-chan struct{}) {
	buf := make([]byte, 65536)
	for {
		pkt, err := c.ReadPacket(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				t.log.Debug("traceroute read failed", "err", err)
			}
			return
		}
		a, ok := t.matchICMP(pkt)
		if !ok {
			continue
		}
		select {
		case out <- a:
		case <-done:
			return
		}
	}
}

func (t *Tracer) matchICMP(pkt Packet) (answer, bool) {
	m, err := probe.ParseMessage(t.v6, pkt.Data)
	if err != nil {
		return answer{}, false
	}
	a := answer{from: pkt.From.Unmap(), pkt: pkt}
	switch m.Kind() {
	case probe.KindEchoReply:
		if t.cfg.Protocol != TraceICMP || !t.ourEchoID(m.ID) || a.from != t.cfg.Target {
			return answer{}, false
		}
		a.idx, a.final = int(m.Seq), true
		return a, a.idx < t.total() && t.echoFlowMatches(a.idx, m.ID)
	case probe.KindTimeExceeded, probe.KindUnreachable, probe.KindTooBig, probe.KindParamProblem:
	default:
		return answer{}, false
	}
	q := m.Quoted
	if q.Dst.Unmap() != t.cfg.Target {
		return answer{}, false
	}
	idx, ok := t.quotedIndex(q)
	if !ok {
		return answer{}, false
	}
	a.idx = idx
	a.annot = m.Annotation()
	a.final = m.Kind() != probe.KindTimeExceeded
	return a, true
}

// quotedIndex recovers the probe index from the quoted original datagram.
func (t *Tracer) quotedIndex(q probe.Quoted) (int, bool) {
	switch t.cfg.Protocol {
	case TraceUDP:
		k := int(q.UDPLength) - 8 - t.base
		if t.cfg.StepPort {
			k = int(q.DstPort) - t.cfg.Port
		}
		if q.Protocol != probe.ProtoUDP || (!t.cfg.StepPort && int(q.DstPort) != t.cfg.Port) {
			return 0, false
		}
		s, _ := t.sender.(*udpSender)
		if s == nil {
			return 0, false
		}
		flow, ok := s.ports[q.SrcPort]
		if !ok || k < 0 || k >= (t.cfg.MaxTTL-t.cfg.FirstTTL+1)*t.cfg.Queries {
			return 0, false
		}
		return t.indexOf(flow, k), true
	case TraceICMP:
		if (q.Protocol != probe.ProtoICMP && q.Protocol != probe.ProtoICMPv6) || q.ICMPType != echoRequestType(t.v6) || !t.ourEchoID(q.ID) {
			return 0, false
		}
		idx := int(q.Seq)
		return idx, idx < t.total() && t.echoFlowMatches(idx, q.ID)
	case TraceTCP:
		if q.Protocol != probe.ProtoTCP || int(q.DstPort) != t.cfg.Port {
			return 0, false
		}
		s, _ := t.sender.(*tcpSender)
		if s == nil {
			return 0, false
		}
		flow, ok := s.byPort[q.SrcPort]
		idx := int(q.TCPSeq - t.seq0)
		return idx, ok && idx >= 0 && idx < t.total() && t.flowOf(idx) == flow
	}
	return 0, false
}

// readTCP watches for the destination's SYN-ACK or RST to a TCP probe.
func (t *Tracer) readTCP(c *sockConn, out chan<- answer, done <-chan struct{}) {
	buf := make([]byte, 65536)
	s, _ := t.sender.(*tcpSender)
	for {
		pkt, err := c.ReadPacket(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				t.log.Debug("traceroute tcp read failed", "err", err)
			}
			return
		}
		h, err := probe.ParseTCPHeader(pkt.Data)
		if err != nil || pkt.From.Unmap() != t.cfg.Target || int(h.SrcPort) != t.cfg.Port || s == nil {
			continue
		}
		flow, ok := s.byPort[h.DstPort]
		if !ok || h.Flags&(probe.TCPFlagSYN|probe.TCPFlagRST) == 0 || h.Flags&probe.TCPFlagACK == 0 {
			continue
		}
		idx := int(h.Ack - 1 - t.seq0)
		if idx < 0 || idx >= t.total() || t.flowOf(idx) != flow {
			continue
		}
		select {
		case out <- answer{idx: idx, from: t.cfg.Target, pkt: pkt, final: true}:
		case <-done:
			return
		}
	}
}

// ourEchoID checks an echo id against ours. On a datagram socket the kernel
// put its own there and delivers only this socket's messages anyway.
func (t *Tracer) ourEchoID(id uint16) bool {
	return !t.raw || id&^0x3f == t.id
}

// echoFlowMatches checks the flow an echo id names (raw sockets only; a
// datagram socket traces one flow).
func (t *Tracer) echoFlowMatches(idx int, id uint16) bool {
	return !t.raw || t.flowOf(idx) == int(id&0x3f)
}
