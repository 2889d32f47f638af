package probe

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
)

var (
	src4 = netip.MustParseAddr("10.201.1.2")
	dst4 = netip.MustParseAddr("10.201.4.2")
	src6 = netip.MustParseAddr("fd00:201:1::2")
	dst6 = netip.MustParseAddr("fd00:201:4::2")
)

func TestGoldenBuild(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		// Hand-computed: 0x0800+0x1234+0x0001+0x6162+0x6364 = 0xdefb; checksum ^0xdefb = 0x2104.
		{"echo v4", AppendEcho(nil, false, 0x1234, 1, []byte("abcd")), "08002104123400016162636" + "4"},
		{"echo v6 checksum left to kernel", AppendEcho(nil, true, 0x1234, 2, []byte("ab")), "80000000123400026162"},
		// udp v4 by hand: pseudo-header 0x1ab0 + header and data 0x1aca3 folds to 0xc754, complement 0x38ab.
		{"udp v4", AppendUDP(nil, src4, dst4, 0x8000, 33434, []byte{0xaa}), "8000829a000938abaa"},
		{"udp v6", AppendUDP(nil, src6, dst6, 0x8000, 33434, nil), "8000829a0008ff36"},
		{"tcp syn v4", AppendTCPSyn(nil, src4, dst4, 0x8000, 80, 0x01020304), "8000005001020304000000005002ffff10f70000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hex.EncodeToString(tt.got); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestChecksumsVerify checks the built packets the way a receiver does: the
// sum over pseudo-header and segment, checksum included, must fold to 0xffff.
func TestChecksumsVerify(t *testing.T) {
	tests := []struct {
		name     string
		src, dst netip.Addr
		proto    uint8
		b        []byte
	}{
		{"udp v4", src4, dst4, ProtoUDP, AppendUDP(nil, src4, dst4, 40000, 33434, []byte("hello"))},
		{"udp v6", src6, dst6, ProtoUDP, AppendUDP(nil, src6, dst6, 40000, 33434, []byte("hello!"))},
		{"tcp v4", src4, dst4, ProtoTCP, AppendTCPSyn(nil, src4, dst4, 40000, 443, 99)},
		{"tcp v6", src6, dst6, ProtoTCP, AppendTCPSyn(nil, src6, dst6, 40000, 443, 99)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fold(sum(pseudoSum(tt.src, tt.dst, tt.proto, len(tt.b)), tt.b)); got != 0xffff {
				t.Errorf("checksum does not verify: folded sum %#x", got)
			}
		})
	}
	if got := fold(sum(0, AppendEcho(nil, false, 7, 9, []byte("odd")))); got != 0xffff {
		t.Errorf("echo v4 checksum does not verify: %#x", got)
	}
}

func TestParisWordKeepsChecksum(t *testing.T) {
	var first []byte
	for seq := uint16(0); seq < 300; seq++ {
		w := ParisWord(seq)
		b := AppendEcho(nil, false, 0x4242, seq, []byte{byte(w >> 8), byte(w), 1, 2, 3, 4})
		if first == nil {
			first = b[2:4]
			continue
		}
		if !bytes.Equal(b[2:4], first) {
			t.Fatalf("seq %d: checksum %x, want %x", seq, b[2:4], first)
		}
	}
}

// Replies captured as a raw socket hands them over (IPv4 with its header
// stripped by ParseIPv4Header, IPv6 without one).
func timeExceededV4UDP() []byte {
	inner := AppendUDP(nil, src4, dst4, 40000, 33434, make([]byte, 24))
	ip := ipv4Header(src4, dst4, ProtoUDP, 1, len(inner), 0xbeef)
	return append([]byte{11, 0, 0, 0, 0, 0, 0, 0}, append(ip, inner...)...)
}

func ipv4Header(src, dst netip.Addr, proto uint8, ttl uint8, payload int, id uint16) []byte {
	n := 20 + payload
	h := []byte{0x45, 0, byte(n >> 8), byte(n), byte(id >> 8), byte(id), 0x40, 0, ttl, proto, 0, 0}
	h = append(h, src.AsSlice()...)
	return append(h, dst.AsSlice()...)
}

func ipv6Header(src, dst netip.Addr, next uint8, hop uint8, payload int) []byte {
	h := []byte{0x60, 0, 0, 0, byte(payload >> 8), byte(payload), next, hop}
	h = append(h, src.AsSlice()...)
	return append(h, dst.AsSlice()...)
}

func TestParseQuoted(t *testing.T) {
	echo4 := AppendEcho(nil, false, 0x77, 5, []byte("nonce123"))
	echo6 := AppendEcho(nil, true, 0x77, 6, []byte("nonce123"))
	syn6 := AppendTCPSyn(nil, src6, dst6, 40001, 443, 0xdeadbeef)
	udp6 := AppendUDP(nil, src6, dst6, 40002, 33434, make([]byte, 3))
	// A destination options header (8 bytes) before UDP, to walk the chain.
	udp6ext := append([]byte{ProtoUDP, 0, 1, 4, 0, 0, 0, 0}, udp6...)
	tests := []struct {
		name  string
		v6    bool
		msg   []byte
		kind  Kind
		annot string
		check func(t *testing.T, q Quoted)
	}{
		{"v4 time exceeded quoting udp", false, timeExceededV4UDP(), KindTimeExceeded, "", func(t *testing.T, q Quoted) {
			if q.Protocol != ProtoUDP || q.Src != src4 || q.Dst != dst4 || q.SrcPort != 40000 || q.DstPort != 33434 || q.UDPLength != 32 || q.Length != 52 || q.IPID != 0xbeef {
				t.Errorf("quoted = %+v", q)
			}
		}},
		{"v4 net unreachable quoting echo", false, append([]byte{3, 0, 0, 0, 0, 0, 0, 0}, append(ipv4Header(src4, dst4, ProtoICMP, 3, len(echo4), 1), echo4...)...), KindUnreachable, "!N", func(t *testing.T, q Quoted) {
			if q.Protocol != ProtoICMP || q.ID != 0x77 || q.Seq != 5 || string(q.Data) != "nonce123" {
				t.Errorf("quoted = %+v", q)
			}
		}},
		{"v4 prohibited quoting echo", false, append([]byte{3, 13, 0, 0, 0, 0, 0, 0}, append(ipv4Header(src4, dst4, ProtoICMP, 3, len(echo4), 1), echo4...)...), KindUnreachable, "!X", nil},
		{"v4 port unreachable has no mark", false, append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, timeExceededV4UDP()[8:]...), KindUnreachable, "", nil},
		{"v6 time exceeded quoting tcp", true, append([]byte{3, 0, 0, 0, 0, 0, 0, 0}, append(ipv6Header(src6, dst6, ProtoTCP, 1, len(syn6)), syn6...)...), KindTimeExceeded, "", func(t *testing.T, q Quoted) {
			if q.Protocol != ProtoTCP || q.TCPSeq != 0xdeadbeef || q.SrcPort != 40001 || q.DstPort != 443 || q.Src != src6 || q.Dst != dst6 || q.Length != 60 {
				t.Errorf("quoted = %+v", q)
			}
		}},
		{"v6 no route quoting echo", true, append([]byte{1, 0, 0, 0, 0, 0, 0, 0}, append(ipv6Header(src6, dst6, ProtoICMPv6, 1, len(echo6)), echo6...)...), KindUnreachable, "!N", func(t *testing.T, q Quoted) {
			if q.Protocol != ProtoICMPv6 || q.ICMPType != V6EchoRequest || q.Seq != 6 {
				t.Errorf("quoted = %+v", q)
			}
		}},
		{"v6 address unreachable through extension header", true, append([]byte{1, 3, 0, 0, 0, 0, 0, 0}, append(ipv6Header(src6, dst6, 60, 1, len(udp6ext)), udp6ext...)...), KindUnreachable, "!H", func(t *testing.T, q Quoted) {
			if q.Protocol != ProtoUDP || q.DstPort != 33434 || q.UDPLength != 11 {
				t.Errorf("quoted = %+v", q)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage(tt.v6, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !m.HasQuote {
				t.Fatal("no quote parsed")
			}
			if m.Kind() != tt.kind {
				t.Errorf("kind %v, want %v", m.Kind(), tt.kind)
			}
			if a := m.Annotation(); a != tt.annot {
				t.Errorf("annotation %q, want %q", a, tt.annot)
			}
			if tt.check != nil {
				tt.check(t, m.Quoted)
			}
		})
	}
}

func TestParseEchoReplyFromRawIPv4(t *testing.T) {
	reply := AppendEcho(nil, false, 9, 10, []byte("xyz"))
	reply[0] = V4EchoReply
	pkt := append(ipv4Header(dst4, src4, ProtoICMP, 61, len(reply), 3), reply...)
	h, rest, err := ParseIPv4Header(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if h.TTL != 61 || h.Src != dst4 || h.Protocol != ProtoICMP {
		t.Errorf("header = %+v", h)
	}
	m, err := ParseMessage(false, rest)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != KindEchoReply || m.ID != 9 || m.Seq != 10 || string(m.Payload) != "xyz" {
		t.Errorf("message = %+v", m)
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		v6        bool
		typ, code uint8
		want      string
	}{
		{false, 11, 0, "Time to live exceeded"},
		{false, 3, 1, "Destination Host Unreachable"},
		{false, 3, 0, "Destination Net Unreachable"},
		{false, 3, 13, "Packet filtered"},
		{true, 3, 0, "Time exceeded: Hop limit"},
		{true, 1, 3, "Destination unreachable: Address unreachable"},
		{true, 1, 0, "Destination unreachable: No route"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := (Message{V6: tt.v6, Type: tt.typ, Code: tt.code}).Describe(); got != tt.want {
				t.Errorf("got %q", got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		v6   bool
		b    []byte
		want error
	}{
		{"empty", false, nil, ErrShort},
		{"error without quote", false, []byte{11, 0, 0, 0, 0, 0, 0, 0}, ErrShort},
		{"v4 quote with v6 header", false, append([]byte{11, 0, 0, 0, 0, 0, 0, 0}, ipv6Header(src6, dst6, 17, 1, 0)...), ErrVersion},
		{"v6 quote truncated", true, append([]byte{3, 0, 0, 0, 0, 0, 0, 0}, 0x60, 0), ErrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseMessage(tt.v6, tt.b); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := ParseTCPHeader(make([]byte, 19)); !errors.Is(err, ErrShort) {
		t.Errorf("short tcp header: %v", err)
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add(false, timeExceededV4UDP())
	f.Add(true, append([]byte{3, 0, 0, 0, 0, 0, 0, 0}, ipv6Header(src6, dst6, 0, 1, 8)...))
	f.Add(false, AppendEcho(nil, false, 1, 2, []byte("p")))
	f.Fuzz(func(t *testing.T, v6 bool, b []byte) {
		if h, rest, err := ParseIPv4Header(b); err == nil && len(rest) != len(b)-h.HeaderLen {
			t.Fatalf("ipv4 header of %d bytes left %d of %d", h.HeaderLen, len(rest), len(b))
		}
		_, _ = ParseTCPHeader(b)
		m, err := ParseMessage(v6, b)
		if err != nil {
			return
		}
		_ = m.Describe()
		_ = m.Annotation()
		if m.HasQuote && len(m.Quoted.Data) > len(b) {
			t.Fatalf("quoted data longer than input")
		}
	})
}
