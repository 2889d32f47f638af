package capture

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/socklab/socklab/internal/qoswire"
)

// t0 is the capture start of every generated capture.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }

// frame is one generated packet: the IP datagram (no link header yet).
type frame struct {
	ts time.Time
	ip []byte
	v6 bool
}

// capBuilder generates IP datagrams and writes them as a capture.
type capBuilder struct {
	t      *testing.T
	frames []frame
}

func newCap(t *testing.T) *capBuilder { return &capBuilder{t: t} }

func ipLayer(src, dst netip.Addr, proto layers.IPProtocol) (gopacket.SerializableLayer, gopacket.NetworkLayer) {
	if src.Is4() {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		return ip, ip
	}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
	return ip, ip
}

func (b *capBuilder) add(ts time.Time, src netip.Addr, ls ...gopacket.SerializableLayer) {
	b.t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		b.t.Fatal(err)
	}
	b.frames = append(b.frames, frame{ts: ts, ip: bytes.Clone(buf.Bytes()), v6: src.Is6()})
}

func (b *capBuilder) udp(ts time.Time, src, dst string, payload []byte) {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	ip, nl := ipLayer(s.Addr(), d.Addr(), layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(s.Port()), DstPort: layers.UDPPort(d.Port())}
	_ = u.SetNetworkLayerForChecksum(nl)
	b.add(ts, s.Addr(), ip, u, gopacket.Payload(payload))
}

type tcpSeg struct {
	seq, ack uint32
	flags    string // any of S A F R P
	win      uint16
	payload  []byte
}

func (b *capBuilder) tcp(ts time.Time, src, dst string, sg tcpSeg) {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	ip, nl := ipLayer(s.Addr(), d.Addr(), layers.IPProtocolTCP)
	win := sg.win
	if win == 0 && !bytes.ContainsRune([]byte(sg.flags), 'Z') {
		win = 65535
	}
	tc := &layers.TCP{SrcPort: layers.TCPPort(s.Port()), DstPort: layers.TCPPort(d.Port()), Seq: sg.seq, Ack: sg.ack, Window: win}
	for _, c := range sg.flags {
		switch c {
		case 'S':
			tc.SYN = true
		case 'A':
			tc.ACK = true
		case 'F':
			tc.FIN = true
		case 'R':
			tc.RST = true
		case 'P':
			tc.PSH = true
		}
	}
	_ = tc.SetNetworkLayerForChecksum(nl)
	b.add(ts, s.Addr(), ip, tc, gopacket.Payload(sg.payload))
}

func (b *capBuilder) echo(ts time.Time, src, dst string, id, seq uint16, reply bool) {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	payload := []byte("socklab ping payload....")
	if s.Is4() {
		ip, _ := ipLayer(s, d, layers.IPProtocolICMPv4)
		typ := uint8(layers.ICMPv4TypeEchoRequest)
		if reply {
			typ = layers.ICMPv4TypeEchoReply
		}
		b.add(ts, s, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: seq}, gopacket.Payload(payload))
		return
	}
	ip, nl := ipLayer(s, d, layers.IPProtocolICMPv6)
	typ := uint8(layers.ICMPv6TypeEchoRequest)
	if reply {
		typ = layers.ICMPv6TypeEchoReply
	}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
	_ = ic.SetNetworkLayerForChecksum(nl)
	b.add(ts, s, ip, ic, &layers.ICMPv6Echo{Identifier: id, SeqNumber: seq}, gopacket.Payload(payload))
}

// probe builds a qoswire probe of size bytes.
func probe(session, seq uint64, sendWall int64, reply bool, reflSend int64, size int) []byte {
	b := make([]byte, size)
	h := qoswire.Header{Session: session, Seq: seq, SendWall: sendWall, SendMono: sendWall}
	if reply {
		h.Flags = qoswire.FlagReply
		// The probe spends 0.5 ms inside the reflector.
		h.ReflRecv, h.ReflSend, h.ReflCount = reflSend-500_000, reflSend, seq+1
	}
	if err := h.Marshal(b); err != nil {
		panic(err)
	}
	return b
}

// linkFrame puts a link-layer header in front of an IP datagram.
func linkFrame(link layers.LinkType, f frame) []byte {
	etype := uint16(layers.EthernetTypeIPv4)
	if f.v6 {
		etype = uint16(layers.EthernetTypeIPv6)
	}
	var hdr []byte
	switch link {
	case layers.LinkTypeEthernet:
		hdr = make([]byte, 14)
		copy(hdr[0:6], []byte{2, 0, 0, 0, 0, 2})
		copy(hdr[6:12], []byte{2, 0, 0, 0, 0, 1})
		binary.BigEndian.PutUint16(hdr[12:], etype)
	case layers.LinkTypeLinuxSLL:
		hdr = make([]byte, 16)
		binary.BigEndian.PutUint16(hdr[2:], 772) // ARPHRD_LOOPBACK
		binary.BigEndian.PutUint16(hdr[4:], 6)
		binary.BigEndian.PutUint16(hdr[14:], etype)
	case layers.LinkTypeLinuxSLL2:
		hdr = make([]byte, 20)
		binary.BigEndian.PutUint16(hdr[0:], etype)
		binary.BigEndian.PutUint32(hdr[4:], 1)
		binary.BigEndian.PutUint16(hdr[8:], 772)
		hdr[11] = 6
	case layers.LinkTypeNull:
		hdr = make([]byte, 4)
		fam := uint32(2) // AF_INET, in the writer's (little-endian) byte order
		if f.v6 {
			fam = 30 // AF_INET6 on macOS
		}
		binary.LittleEndian.PutUint32(hdr, fam)
	}
	return append(hdr, f.ip...)
}

type fileKind struct {
	ng, gz bool
	micro  bool // microsecond timestamps (pcap's classic magic, pcapng's if_tsresol 6)
}

// bytes writes the capture with the given link type as pcap or pcapng,
// gzip-compressed or not.
func (b *capBuilder) bytes(link layers.LinkType, kind fileKind) []byte {
	b.t.Helper()
	var out bytes.Buffer
	type writer interface {
		WritePacket(gopacket.CaptureInfo, []byte) error
	}
	var w writer
	var flush func() error
	switch {
	case kind.ng && kind.micro:
		w, flush = &ngMicroWriter{out: &out, link: link}, func() error { return nil }
	case kind.ng:
		nw, err := pcapgo.NewNgWriter(&out, link)
		if err != nil {
			b.t.Fatal(err)
		}
		w, flush = nw, nw.Flush
	default:
		pw := pcapgo.NewWriterNanos(&out)
		if kind.micro {
			pw = pcapgo.NewWriter(&out)
		}
		if err := pw.WriteFileHeader(65536, link); err != nil {
			b.t.Fatal(err)
		}
		w, flush = pw, func() error { return nil }
	}
	for _, f := range b.frames {
		data := linkFrame(link, f)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(data), Length: len(data)}, data); err != nil {
			b.t.Fatal(err)
		}
	}
	if err := flush(); err != nil {
		b.t.Fatal(err)
	}
	if !kind.gz {
		return out.Bytes()
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(out.Bytes())
	zw.Close()
	return z.Bytes()
}

func analyzeBytes(t *testing.T, data []byte, cfg Config) *Result {
	t.Helper()
	res, err := Analyze(context.Background(), bytes.NewReader(data), cfg)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	return res
}

func findFlow(t *testing.T, r *Result, proto string) *FlowReport {
	t.Helper()
	for i := range r.Flows {
		if r.Flows[i].Protocol == proto {
			return &r.Flows[i]
		}
	}
	t.Fatalf("no %s flow in %d flows", proto, len(r.Flows))
	return nil
}

func near(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }

// ngMicroWriter writes a pcapng file whose interface stamps in
// microseconds (if_tsresol 6), which pcapgo's writer cannot: it always
// writes nanoseconds.
type ngMicroWriter struct {
	out  *bytes.Buffer
	link layers.LinkType
	head bool
}

func (w *ngMicroWriter) block(typ uint32, body []byte) {
	le := binary.LittleEndian
	n := uint32(12 + len(body))
	w.out.Write(le.AppendUint32(le.AppendUint32(nil, typ), n))
	w.out.Write(body)
	w.out.Write(le.AppendUint32(nil, n))
}

func (w *ngMicroWriter) WritePacket(ci gopacket.CaptureInfo, data []byte) error {
	le := binary.LittleEndian
	if !w.head {
		w.head = true
		shb := le.AppendUint32(nil, 0x1A2B3C4D)
		shb = le.AppendUint16(le.AppendUint16(shb, 1), 0)
		shb = le.AppendUint64(shb, ^uint64(0))
		w.block(0x0A0D0D0A, shb)
		idb := le.AppendUint16(le.AppendUint16(nil, uint16(w.link)), 0)
		idb = le.AppendUint32(idb, 65536)
		idb = append(le.AppendUint16(le.AppendUint16(idb, 9), 1), 6, 0, 0, 0) // if_tsresol = 10^-6
		idb = le.AppendUint32(idb, 0)                                         // opt_endofopt
		w.block(1, idb)
	}
	us := uint64(ci.Timestamp.UnixNano() / 1000)
	epb := le.AppendUint32(nil, 0)
	epb = le.AppendUint32(le.AppendUint32(epb, uint32(us>>32)), uint32(us))
	epb = le.AppendUint32(le.AppendUint32(epb, uint32(len(data))), uint32(ci.Length))
	epb = append(epb, data...)
	for len(epb)%4 != 0 {
		epb = append(epb, 0)
	}
	w.block(6, epb)
	return nil
}
