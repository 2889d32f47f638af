package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// IP protocol numbers the analyzer follows.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// TCP flag bits as they sit in byte 13 of the header.
const (
	tcpFIN = 1 << 0
	tcpSYN = 1 << 1
	tcpRST = 1 << 2
	tcpPSH = 1 << 3
	tcpACK = 1 << 4
)

// packet is what the analyzer needs from one captured frame; the decoder
// fills it in place so decoding allocates nothing.
type packet struct {
	ts      int64 // capture time, Unix ns
	wireLen int   // original frame length
	proto   uint8
	src     netip.Addr
	dst     netip.Addr
	sport   uint16
	dport   uint16
	payload []byte // transport payload as captured (may be cut by the snap length)

	// TCP
	seq, ack uint32
	flags    uint8
	win      uint16
	segLen   int // payload length from the IP header, not the capture

	// ICMP
	icmpType uint8
	icmpCode uint8
	echoID   uint16
	echoSeq  uint16
}

// decodeResult classifies a frame for the totals.
type decodeResult int

const (
	decodedTransport decodeResult = iota // IP with a transport the analyzer follows
	decodedOtherIP                       // IP, other protocol or a non-first fragment
	decodedNotIP                         // ARP, LLDP, unknown link type…
	decodedMalformed                     // headers cut short or inconsistent
)

// decoder turns frames into packets with gopacket's DecodingLayerParser and
// preallocated layers, one parser per first layer (the parser's first layer
// is fixed at construction).
type decoder struct {
	eth   layers.Ethernet
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	loop  layers.Loopback
	ip4   layers.IPv4
	ip6   layers.IPv6
	ip6x  layers.IPv6ExtensionSkipper
	udp   layers.UDP
	tcp   layers.TCP
	icmp4 layers.ICMPv4
	icmp6 layers.ICMPv6

	parsers   map[gopacket.LayerType]*gopacket.DecodingLayerParser
	lastFirst gopacket.LayerType
	last      *gopacket.DecodingLayerParser
	decoded   []gopacket.LayerType
}

func newDecoder() *decoder {
	return &decoder{
		parsers: make(map[gopacket.LayerType]*gopacket.DecodingLayerParser),
		decoded: make([]gopacket.LayerType, 0, 16),
	}
}

func (d *decoder) parser(first gopacket.LayerType) *gopacket.DecodingLayerParser {
	if d.last != nil && first == d.lastFirst {
		return d.last // the common case: one link type per file
	}
	if p, ok := d.parsers[first]; ok {
		d.lastFirst, d.last = first, p
		return p
	}
	p := gopacket.NewDecodingLayerParser(first,
		&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop,
		&d.ip4, &d.ip6, &d.ip6x, &d.udp, &d.tcp, &d.icmp4, &d.icmp6)
	p.IgnoreUnsupported = true
	d.parsers[first] = p
	d.lastFirst, d.last = first, p
	return p
}

// firstLayer maps a link type to the layer its frames start with; raw-IP
// captures start with IPv4 or IPv6 depending on the version nibble.
func firstLayer(link layers.LinkType, data []byte) (gopacket.LayerType, bool) {
	switch link {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, true
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, true
	case layers.LinkTypeRaw, 12, 14: // DLT_RAW is 12 on most BSDs, 14 on OpenBSD
		if len(data) == 0 {
			return 0, false
		}
		switch data[0] >> 4 {
		case 4:
			return layers.LayerTypeIPv4, true
		case 6:
			return layers.LayerTypeIPv6, true
		}
	}
	return 0, false
}

// decode fills p from one frame.
func (d *decoder) decode(link layers.LinkType, data []byte, p *packet) decodeResult {
	first, ok := firstLayer(link, data)
	if !ok {
		return decodedNotIP
	}
	d.decoded = d.decoded[:0]
	err := d.parser(first).DecodeLayers(data, &d.decoded)
	var ipSeen, transport bool
	var l3payload int // bytes after the IP header(s), from the IP length fields
	for _, lt := range d.decoded {
		switch lt {
		case layers.LayerTypeIPv4:
			ipSeen = true
			p.src = netip.AddrFrom4([4]byte(d.ip4.SrcIP.To4()))
			p.dst = netip.AddrFrom4([4]byte(d.ip4.DstIP.To4()))
			p.proto = uint8(d.ip4.Protocol)
			l3payload = int(d.ip4.Length) - int(d.ip4.IHL)*4
		case layers.LayerTypeIPv6:
			ipSeen = true
			p.src = netip.AddrFrom16([16]byte(d.ip6.SrcIP.To16()))
			p.dst = netip.AddrFrom16([16]byte(d.ip6.DstIP.To16()))
			p.proto = uint8(d.ip6.NextHeader)
			l3payload = int(d.ip6.Length)
		case layers.LayerTypeIPv6Fragment:
			// Like IPv4 fragments (which gopacket does not decode past the
			// IP header), fragments are not reassembled: counted as other IP.
			return decodedOtherIP
		case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Destination, layers.LayerTypeIPv6Routing:
			p.proto = uint8(d.ip6x.NextHeader)
			l3payload -= len(d.ip6x.Contents)
		case layers.LayerTypeUDP:
			transport = true
			p.proto = protoUDP
			p.sport, p.dport = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
			p.payload = d.udp.Payload
		case layers.LayerTypeTCP:
			transport = true
			p.proto = protoTCP
			p.sport, p.dport = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
			p.payload = d.tcp.Payload
			p.seq, p.ack, p.win = d.tcp.Seq, d.tcp.Ack, d.tcp.Window
			p.flags = tcpFlags(&d.tcp)
			p.segLen = l3payload - int(d.tcp.DataOffset)*4
			if p.segLen < len(p.payload) || l3payload <= 0 {
				// TSO or a bogus length field: trust the bytes we have.
				p.segLen = len(p.payload)
			}
		case layers.LayerTypeICMPv4:
			transport = true
			p.proto = protoICMP
			p.icmpType, p.icmpCode = d.icmp4.TypeCode.Type(), d.icmp4.TypeCode.Code()
			p.echoID, p.echoSeq = d.icmp4.Id, d.icmp4.Seq
			p.payload = d.icmp4.Payload
		case layers.LayerTypeICMPv6:
			transport = true
			p.proto = protoICMPv6
			p.icmpType, p.icmpCode = d.icmp6.TypeCode.Type(), d.icmp6.TypeCode.Code()
			p.echoID, p.echoSeq = 0, 0
			p.payload = d.icmp6.Payload
			if len(p.payload) >= 4 && (p.icmpType == layers.ICMPv6TypeEchoRequest || p.icmpType == layers.ICMPv6TypeEchoReply) {
				p.echoID = binary.BigEndian.Uint16(p.payload[0:2])
				p.echoSeq = binary.BigEndian.Uint16(p.payload[2:4])
				p.payload = p.payload[4:]
			}
		}
	}
	switch {
	case transport:
		return decodedTransport
	case err != nil:
		return decodedMalformed
	case ipSeen:
		return decodedOtherIP
	}
	return decodedNotIP
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	if t.FIN {
		f |= tcpFIN
	}
	if t.SYN {
		f |= tcpSYN
	}
	if t.RST {
		f |= tcpRST
	}
	if t.PSH {
		f |= tcpPSH
	}
	if t.ACK {
		f |= tcpACK
	}
	return f
}
