package probe

import (
	"encoding/binary"
	"fmt"
)

// Kind is what an ICMP message means to ping and traceroute.
type Kind int

// Kinds of message.
const (
	KindOther        Kind = iota
	KindEchoReply         // an answer to our echo request
	KindEchoRequest       // our own request, seen on a raw loopback socket
	KindTimeExceeded      // TTL / hop limit ran out in transit
	KindUnreachable       // destination unreachable (any code)
	KindTooBig            // fragmentation needed / packet too big
	KindParamProblem
)

// Kind classifies m.
func (m Message) Kind() Kind {
	if m.V6 {
		switch m.Type {
		case V6EchoReply:
			return KindEchoReply
		case V6EchoRequest:
			return KindEchoRequest
		case V6TimeExceeded:
			return KindTimeExceeded
		case V6DestUnreach:
			return KindUnreachable
		case V6PacketTooBig:
			return KindTooBig
		case V6ParamProblem:
			return KindParamProblem
		}
		return KindOther
	}
	switch m.Type {
	case V4EchoReply:
		return KindEchoReply
	case V4EchoRequest:
		return KindEchoRequest
	case V4TimeExceeded:
		return KindTimeExceeded
	case V4DestUnreach:
		if m.Code == 4 {
			return KindTooBig
		}
		return KindUnreachable
	case V4ParamProblem:
		return KindParamProblem
	}
	return KindOther
}

// PortUnreachable reports whether m says the destination's port was closed:
// for a UDP traceroute, the sign the destination itself answered.
func (m Message) PortUnreachable() bool {
	if m.V6 {
		return m.Type == V6DestUnreach && m.Code == 4
	}
	return m.Type == V4DestUnreach && m.Code == 3
}

// Describe is the text iputils ping prints after "From X icmp_seq=N" for an
// ICMP error (ping/ping_common.c and ping6_common.c pr_icmph).
func (m Message) Describe() string {
	if m.V6 {
		switch m.Type {
		case V6DestUnreach:
			s := "Destination unreachable: "
			switch m.Code {
			case 0:
				return s + "No route"
			case 1:
				return s + "Administratively prohibited"
			case 2:
				return s + "Beyond scope of source address"
			case 3:
				return s + "Address unreachable"
			case 4:
				return s + "Port unreachable"
			}
			return fmt.Sprintf("%sUnknown code %d", s, m.Code)
		case V6PacketTooBig:
			return fmt.Sprintf("Packet too big: mtu=%d", m.MTU)
		case V6TimeExceeded:
			if m.Code == 0 {
				return "Time exceeded: Hop limit"
			}
			if m.Code == 1 {
				return "Time exceeded: Defragmentation failure"
			}
			return fmt.Sprintf("Time exceeded: code %d", m.Code)
		case V6ParamProblem:
			return fmt.Sprintf("Parameter problem: code %d", m.Code)
		}
		return fmt.Sprintf("Unknown icmp type: %d", m.Type)
	}
	switch m.Type {
	case V4DestUnreach:
		if m.Code == 4 {
			return fmt.Sprintf("Frag needed and DF set (mtu = %d)", m.MTU)
		}
		if int(m.Code) < len(v4Unreach) {
			return v4Unreach[m.Code]
		}
		return fmt.Sprintf("Dest Unreachable, Bad Code: %d", m.Code)
	case V4TimeExceeded:
		if m.Code == 0 {
			return "Time to live exceeded"
		}
		if m.Code == 1 {
			return "Frag reassembly time exceeded"
		}
		return fmt.Sprintf("Time exceeded, Bad Code: %d", m.Code)
	case 4:
		return "Source Quench"
	case 5:
		return "Redirect"
	case V4ParamProblem:
		return "Parameter problem"
	}
	return fmt.Sprintf("Bad ICMP type: %d", m.Type)
}

var v4Unreach = [...]string{
	"Destination Net Unreachable",
	"Destination Host Unreachable",
	"Destination Protocol Unreachable",
	"Destination Port Unreachable",
	"Frag needed and DF set",
	"Source Route Failed",
	"Destination Net Unknown",
	"Destination Host Unknown",
	"Source Host Isolated",
	"Destination Net Prohibited",
	"Destination Host Prohibited",
	"Destination Net Unreachable for Type of Service",
	"Destination Host Unreachable for Type of Service",
	"Packet filtered",
	"Precedence Violation",
	"Precedence Cutoff",
}

// Annotation is the mark traceroute 2.1 prints after a probe's time for an
// unreachable (!H !N !P !X ...), "" for time exceeded, port unreachable and
// echo replies.
func (m Message) Annotation() string {
	switch m.Kind() {
	case KindTooBig:
		if m.MTU > 0 {
			return fmt.Sprintf("!F-%d", m.MTU)
		}
		return "!F"
	case KindUnreachable:
	default:
		return ""
	}
	if m.V6 {
		switch m.Code {
		case 0:
			return "!N"
		case 1:
			return "!X"
		case 2:
			return "!S"
		case 3:
			return "!H"
		case 4:
			return ""
		}
		return fmt.Sprintf("!<%d>", m.Code)
	}
	switch m.Code {
	case 0, 6, 9, 11:
		return "!N"
	case 1, 7, 10, 12:
		return "!H"
	case 2:
		return "!P"
	case 3:
		return ""
	case 5:
		return "!S"
	case 8:
		return "!I"
	case 13:
		return "!X"
	case 14:
		return "!V"
	case 15:
		return "!C"
	}
	return fmt.Sprintf("!<%d>", m.Code)
}

// TCPHeader is the part of a TCP header a TCP traceroute reads from the
// destination's answer (SYN-ACK or RST).
type TCPHeader struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
}

// TCP flags.
const (
	TCPFlagFIN = 0x01
	TCPFlagSYN = 0x02
	TCPFlagRST = 0x04
	TCPFlagACK = 0x10
)

// ParseTCPHeader reads the fixed part of a TCP header.
func ParseTCPHeader(b []byte) (TCPHeader, error) {
	var h TCPHeader
	if len(b) < 20 {
		return h, fmt.Errorf("tcp header: %w", ErrShort)
	}
	h.SrcPort = binary.BigEndian.Uint16(b[0:])
	h.DstPort = binary.BigEndian.Uint16(b[2:])
	h.Seq = binary.BigEndian.Uint32(b[4:])
	h.Ack = binary.BigEndian.Uint32(b[8:])
	h.Flags = b[13]
	return h, nil
}
