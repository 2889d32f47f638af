// Package probe builds the packets socklab's ping and traceroute send (ICMP
// echo requests, UDP datagrams, TCP SYNs, for IPv4 and IPv6) and parses what
// comes back: echo replies and ICMP errors, including the original header the
// router quoted (RFC 792, RFC 4443 §3, RFC 1812 §4.3.2.3), which is how a
// reply is matched to the probe that caused it.
//
// It is pure: no sockets, no clocks, no goroutines. Addresses are
// net/netip values.
package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// IP protocol numbers used here.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// ICMP types (RFC 792 and RFC 4443).
const (
	V4EchoReply     = 0
	V4DestUnreach   = 3
	V4EchoRequest   = 8
	V4TimeExceeded  = 11
	V4ParamProblem  = 12
	V6DestUnreach   = 1
	V6PacketTooBig  = 2
	V6TimeExceeded  = 3
	V6ParamProblem  = 4
	V6EchoRequest   = 128
	V6EchoReply     = 129
	v4HeaderMinLen  = 20
	v6HeaderLen     = 40
	icmpHeaderLen   = 8
	transportPrefix = 8 // RFC 792: at least 64 bits of the original datagram are quoted
)

// Errors returned by the parsers.
var (
	ErrShort     = errors.New("packet too short")
	ErrVersion   = errors.New("not the expected IP version")
	ErrNotQuoted = errors.New("message quotes no original datagram")
)

// Checksum is the Internet checksum of b (RFC 1071): the ones' complement of
// the ones' complement sum of its 16-bit words, started from initial (a
// pseudo-header sum, or 0).
func Checksum(initial uint32, b []byte) uint16 {
	return ^fold(sum(initial, b))
}

func sum(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

func fold(acc uint32) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// pseudoSum is the checksum contribution of the TCP/UDP/ICMPv6 pseudo-header
// (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1).
func pseudoSum(src, dst netip.Addr, proto uint8, length int) uint32 {
	var acc uint32
	s, d := src.AsSlice(), dst.AsSlice()
	acc = sum(acc, s)
	acc = sum(acc, d)
	acc += uint32(proto)
	acc += uint32(length>>16) + uint32(length&0xffff)
	return acc
}

// AppendEcho appends an ICMP echo request (type 8 for IPv4, 128 for IPv6)
// with id, seq and payload. The IPv4 checksum is filled in; for IPv6 it is
// left zero because it covers a pseudo-header with the source address, and
// the kernel computes it on raw ICMPv6 and ping sockets (RFC 3542 §3.1).
func AppendEcho(b []byte, v6 bool, id, seq uint16, payload []byte) []byte {
	typ := byte(V4EchoRequest)
	if v6 {
		typ = V6EchoRequest
	}
	start := len(b)
	b = append(b, typ, 0, 0, 0, byte(id>>8), byte(id), byte(seq>>8), byte(seq))
	b = append(b, payload...)
	if !v6 {
		binary.BigEndian.PutUint16(b[start+2:], Checksum(0, b[start:]))
	}
	return b
}

// ParisWord is the 16-bit word to place in an echo payload (at an even
// offset) so that the message's checksum does not change with seq: seq plus
// its ones' complement always sums to 0xffff. Load balancers that hash the
// first transport word (type, code, checksum) then keep every probe of a
// traceroute on one path (Augustin et al., "Avoiding traceroute anomalies
// with Paris traceroute", IMC 2006).
func ParisWord(seq uint16) uint16 { return ^seq }

// AppendUDP appends a UDP header and payload with the checksum computed over
// the pseudo-header for src and dst (RFC 768).
func AppendUDP(b []byte, src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	start := len(b)
	n := 8 + len(payload)
	b = append(b, byte(sport>>8), byte(sport), byte(dport>>8), byte(dport), byte(n>>8), byte(n), 0, 0)
	b = append(b, payload...)
	c := Checksum(pseudoSum(src, dst, ProtoUDP, n), b[start:])
	if c == 0 {
		c = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(b[start+6:], c)
	return b
}

// AppendTCPSyn appends a 20-byte TCP SYN header with sequence number seq
// and a checksum over the pseudo-header for src and dst (RFC 9293 §3.1).
func AppendTCPSyn(b []byte, src, dst netip.Addr, sport, dport uint16, seq uint32) []byte {
	start := len(b)
	b = append(b,
		byte(sport>>8), byte(sport), byte(dport>>8), byte(dport),
		byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq),
		0, 0, 0, 0, // ack
		5<<4, 0x02, // data offset 5 words; SYN
		0xff, 0xff, // window
		0, 0, // checksum
		0, 0, // urgent
	)
	binary.BigEndian.PutUint16(b[start+16:], Checksum(pseudoSum(src, dst, ProtoTCP, 20), b[start:]))
	return b
}

// IPv4Header is the part of an IPv4 header socklab reads.
type IPv4Header struct {
	HeaderLen int
	TotalLen  int
	ID        uint16
	TTL       uint8
	Protocol  uint8
	Src, Dst  netip.Addr
}

// ParseIPv4Header reads an IPv4 header and returns it with the bytes after it.
func ParseIPv4Header(b []byte) (IPv4Header, []byte, error) {
	var h IPv4Header
	if len(b) < v4HeaderMinLen {
		return h, nil, fmt.Errorf("ipv4 header: %w", ErrShort)
	}
	if b[0]>>4 != 4 {
		return h, nil, fmt.Errorf("ipv4 header: %w", ErrVersion)
	}
	h.HeaderLen = int(b[0]&0x0f) * 4
	if h.HeaderLen < v4HeaderMinLen || len(b) < h.HeaderLen {
		return h, nil, fmt.Errorf("ipv4 header length %d: %w", h.HeaderLen, ErrShort)
	}
	h.TotalLen = int(binary.BigEndian.Uint16(b[2:]))
	h.ID = binary.BigEndian.Uint16(b[4:])
	h.TTL = b[8]
	h.Protocol = b[9]
	h.Src = netip.AddrFrom4([4]byte(b[12:16]))
	h.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	return h, b[h.HeaderLen:], nil
}

// Message is a parsed ICMP or ICMPv6 message.
type Message struct {
	V6       bool
	Type     uint8
	Code     uint8
	ID, Seq  uint16 // echo request/reply only
	Payload  []byte // echo data; aliases the input
	MTU      uint32 // fragmentation needed / packet too big
	Quoted   Quoted // error messages only
	HasQuote bool
}

// Quoted is the original datagram an ICMP error carries back: its IP header
// fields and the first bytes of its transport header.
type Quoted struct {
	Protocol uint8
	Src, Dst netip.Addr
	// Length is the original datagram's length as its header declared it:
	// IPv4 total length, or the IPv6 payload length plus 40.
	Length int
	IPID   uint16 // IPv4 only
	// Transport fields, by Protocol.
	SrcPort, DstPort uint16 // UDP, TCP
	UDPLength        uint16
	TCPSeq           uint32
	ICMPType         uint8 // ICMP / ICMPv6 echo
	ID, Seq          uint16
	// Data is what follows the 8 transport bytes (echo data, UDP payload...),
	// as much as the router quoted; it aliases the input.
	Data []byte
}

// ParseMessage parses an ICMP (v6 false) or ICMPv6 message without the IP
// header in front of it. It never panics on hostile input.
func ParseMessage(v6 bool, b []byte) (Message, error) {
	m := Message{V6: v6}
	if len(b) < icmpHeaderLen {
		return m, fmt.Errorf("icmp message: %w", ErrShort)
	}
	m.Type, m.Code = b[0], b[1]
	rest := b[icmpHeaderLen:]
	switch {
	case isEcho(v6, m.Type):
		m.ID = binary.BigEndian.Uint16(b[4:])
		m.Seq = binary.BigEndian.Uint16(b[6:])
		m.Payload = rest
	case isError(v6, m.Type):
		if (!v6 && m.Type == V4DestUnreach && m.Code == 4) || (v6 && m.Type == V6PacketTooBig) {
			if v6 {
				m.MTU = binary.BigEndian.Uint32(b[4:])
			} else {
				m.MTU = uint32(binary.BigEndian.Uint16(b[6:]))
			}
		}
		q, err := parseQuoted(v6, rest)
		if err != nil {
			return m, err
		}
		m.Quoted, m.HasQuote = q, true
	}
	return m, nil
}

func isEcho(v6 bool, t uint8) bool {
	if v6 {
		return t == V6EchoReply || t == V6EchoRequest
	}
	return t == V4EchoReply || t == V4EchoRequest
}

func isError(v6 bool, t uint8) bool {
	if v6 {
		return t >= V6DestUnreach && t <= V6ParamProblem
	}
	return t == V4DestUnreach || t == V4TimeExceeded || t == V4ParamProblem || t == 4 /* source quench */ || t == 5 /* redirect */
}

func parseQuoted(v6 bool, b []byte) (Quoted, error) {
	var q Quoted
	var tr []byte
	if v6 {
		if len(b) < v6HeaderLen {
			return q, fmt.Errorf("quoted ipv6 header: %w", ErrShort)
		}
		if b[0]>>4 != 6 {
			return q, fmt.Errorf("quoted ipv6 header: %w", ErrVersion)
		}
		q.Length = int(binary.BigEndian.Uint16(b[4:])) + v6HeaderLen
		q.Src = netip.AddrFrom16([16]byte(b[8:24]))
		q.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		var err error
		q.Protocol, tr, err = skipExtensions(b[6], b[v6HeaderLen:])
		if err != nil {
			return q, err
		}
	} else {
		h, rest, err := ParseIPv4Header(b)
		if err != nil {
			return q, fmt.Errorf("quoted %w", err)
		}
		q.Protocol, q.Src, q.Dst, q.Length, q.IPID = h.Protocol, h.Src, h.Dst, h.TotalLen, h.ID
		tr = rest
	}
	if len(tr) < transportPrefix {
		return q, fmt.Errorf("quoted transport header: %w", ErrShort)
	}
	switch q.Protocol {
	case ProtoUDP:
		q.SrcPort = binary.BigEndian.Uint16(tr[0:])
		q.DstPort = binary.BigEndian.Uint16(tr[2:])
		q.UDPLength = binary.BigEndian.Uint16(tr[4:])
	case ProtoTCP:
		q.SrcPort = binary.BigEndian.Uint16(tr[0:])
		q.DstPort = binary.BigEndian.Uint16(tr[2:])
		q.TCPSeq = binary.BigEndian.Uint32(tr[4:])
	case ProtoICMP, ProtoICMPv6:
		q.ICMPType = tr[0]
		q.ID = binary.BigEndian.Uint16(tr[4:])
		q.Seq = binary.BigEndian.Uint16(tr[6:])
	}
	q.Data = tr[transportPrefix:]
	return q, nil
}

// skipExtensions walks the IPv6 extension header chain (RFC 8200 §4) to the
// upper-layer header.
func skipExtensions(next uint8, b []byte) (uint8, []byte, error) {
	for range 8 {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < 8 {
				return 0, nil, fmt.Errorf("quoted ipv6 extension header: %w", ErrShort)
			}
			n := (int(b[1]) + 1) * 8
			if len(b) < n {
				return 0, nil, fmt.Errorf("quoted ipv6 extension header: %w", ErrShort)
			}
			next, b = b[0], b[n:]
		case 44: // fragment
			if len(b) < 8 {
				return 0, nil, fmt.Errorf("quoted ipv6 fragment header: %w", ErrShort)
			}
			next, b = b[0], b[8:]
		default:
			return next, b, nil
		}
	}
	return 0, nil, errors.New("quoted ipv6 header: extension chain too long")
}
