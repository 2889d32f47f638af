package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const (
	qosClient = "10.0.0.1:40000"
	qosServer = "10.0.0.2:9000"
)

// qosCapture: 100 probes 10 ms apart, captured at the sender. Replies come
// 2 ms after their request; replies to 3, 17, 42, 60 and 88 are lost, the
// reply to 50 arrives after the one to 51, the reply to 70 is duplicated.
func qosCapture(t *testing.T) *capBuilder {
	b := newCap(t)
	const session = 0xabcdef
	lost := map[uint64]bool{3: true, 17: true, 42: true, 60: true, 88: true}
	type ev struct {
		ms    float64
		reply bool
		seq   uint64
	}
	var evs []ev
	for i := uint64(0); i < 100; i++ {
		req := float64(i) * 10
		evs = append(evs, ev{req, false, i})
		switch {
		case lost[i]:
		case i == 50:
			evs = append(evs, ev{req + 13, true, i}) // after 51's reply at 512 ms
		case i == 70:
			evs = append(evs, ev{req + 2, true, i}, ev{req + 3, true, i})
		default:
			evs = append(evs, ev{req + 2, true, i})
		}
	}
	// Keep the capture in time order.
	sortEvents := func() {
		for i := 1; i < len(evs); i++ {
			for j := i; j > 0 && evs[j].ms < evs[j-1].ms; j-- {
				evs[j], evs[j-1] = evs[j-1], evs[j]
			}
		}
	}
	sortEvents()
	for _, e := range evs {
		ts := at(e.ms)
		if e.reply {
			// Reflector stamps 1 ms before the reply is captured: constant transit.
			b.udp(ts, qosServer, qosClient, probe(session, e.seq, 0, true, ts.UnixNano()-1e6, 200))
		} else {
			b.udp(ts, qosClient, qosServer, probe(session, e.seq, ts.UnixNano()-5e6, false, 0, 200))
		}
	}
	return b
}

func TestQoSProbes(t *testing.T) {
	res := analyzeBytes(t, qosCapture(t).bytes(layers.LinkTypeEthernet, fileKind{}), Config{})
	if len(res.Flows) != 1 {
		t.Fatalf("%d flows, want 1", len(res.Flows))
	}
	f := res.Flows[0]
	if f.Client != qosClient || f.Server != qosServer || f.Protocol != "udp" {
		t.Fatalf("flow %s %s → %s", f.Protocol, f.Client, f.Server)
	}
	if f.PacketsFwd != 100 || f.PacketsRev != 96 {
		t.Fatalf("packets fwd/rev = %d/%d, want 100/96", f.PacketsFwd, f.PacketsRev)
	}
	if len(f.QoS) != 1 {
		t.Fatalf("%d qos sessions, want 1", len(f.QoS))
	}
	q := f.QoS[0]
	if q.Session != "0000000000abcdef" || q.Sent != 100 || q.Received != 95 || q.Lost != 5 || q.LossPct != 5 ||
		q.Duplicates != 1 || q.Reordered != 1 || q.RequestsMissing != 0 {
		t.Fatalf("qos = %+v", q)
	}
	// Capture-time RTT 2 ms (13 ms for the late reply) less 0.5 ms dwell.
	if q.RTT == nil || q.RTT.Samples != 95 || !near(q.RTT.MinMs, 1.5, 1e-9) || !near(q.RTT.MaxMs, 12.5, 1e-9) {
		t.Fatalf("rtt = %+v", q.RTT)
	}
	if q.RTT.P50Ms == nil || !near(*q.RTT.P50Ms, 1.5, 0.05) || !near(q.DwellAvgMs, 0.5, 1e-9) {
		t.Fatalf("rtt p50 = %v, dwell %v", q.RTT.P50Ms, q.DwellAvgMs)
	}
	// Transit is constant in both directions: no jitter, no IPDV.
	if q.JitterFwdMs != 0 || q.JitterRevMs != 0 || q.JitterMs != 0 {
		t.Fatalf("jitter fwd/rev = %v/%v, want 0", q.JitterFwdMs, q.JitterRevMs)
	}
	if q.IPDVFwd == nil || q.IPDVFwd.Samples != 99 || q.IPDVFwd.AbsMax != 0 {
		t.Fatalf("ipdv fwd = %+v", q.IPDVFwd)
	}
	if f.UDP != nil {
		t.Fatalf("probe flow reported plain datagrams: %+v", f.UDP)
	}
}

func TestQoSOneWayReceiver(t *testing.T) {
	// Requests only, as seen by a one-way receiver: 20 sent, 4 and 9 lost,
	// 12 before 11. Transit alternates 1 ms and 3 ms: |D| = 2 ms each time.
	b := newCap(t)
	order := []uint64{0, 1, 2, 3, 5, 6, 7, 8, 10, 12, 11, 13, 14, 15, 16, 17, 18, 19}
	for i, seq := range order {
		recv := float64(i) * 20
		transit := 1.0
		if i%2 == 1 {
			transit = 3
		}
		b.udp(at(recv), qosClient, qosServer, probe(7, seq, at(recv-transit).UnixNano(), false, 0, 100))
	}
	res := analyzeBytes(t, b.bytes(layers.LinkTypeEthernet, fileKind{}), Config{})
	q := res.Flows[0].QoS[0]
	if q.Sent != 20 || q.Received != 18 || q.Lost != 2 || q.LossPct != 10 || q.Reordered != 1 || q.RequestsMissing != 2 {
		t.Fatalf("qos = %+v", q)
	}
	// J_n = 2 ms · (1 − (15/16)^n) after n samples of |D| = 2 ms.
	want := 2.0
	for range 17 {
		want *= 15.0 / 16
	}
	want = 2 - want
	if !near(q.JitterMs, want, 1e-6) {
		t.Fatalf("jitter %v ms, want %v", q.JitterMs, want)
	}
	if q.RTT != nil {
		t.Fatalf("rtt without replies: %+v", q.RTT)
	}
}

const (
	cli = "192.168.1.10:51000"
	srv = "192.168.1.20:80"
)

// tcpCapture is a client-side capture of one HTTP exchange with known RTTs.
func tcpCapture(t *testing.T) *capBuilder {
	b := newCap(t)
	req := []byte("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n") // 37 bytes
	resp := bytes.Repeat([]byte("x"), 1000)
	copy(resp, "HTTP/1.1 200 OK\r\n")
	c, s := uint32(1000), uint32(5000)
	b.tcp(at(0), cli, srv, tcpSeg{seq: c, flags: "S"})
	b.tcp(at(10), srv, cli, tcpSeg{seq: s, ack: c + 1, flags: "SA"})
	b.tcp(at(20), cli, srv, tcpSeg{seq: c + 1, ack: s + 1, flags: "A"}) // handshake RTT 20 ms
	c++
	s++
	// Request, acked with the response 25 ms later: sample 25 ms.
	b.tcp(at(30), cli, srv, tcpSeg{seq: c, ack: s, flags: "PA", payload: req})
	c += uint32(len(req))
	b.tcp(at(55), srv, cli, tcpSeg{seq: s, ack: c, flags: "PA", payload: resp})
	s += 1000
	// Two client segments, one ACK for both: sample from the newer, 29 ms.
	b.tcp(at(60), cli, srv, tcpSeg{seq: c, ack: s, flags: "A", payload: make([]byte, 500)})
	b.tcp(at(61), cli, srv, tcpSeg{seq: c + 500, ack: s, flags: "A", payload: make([]byte, 500)})
	c += 1000
	b.tcp(at(90), srv, cli, tcpSeg{seq: s, ack: c, flags: "A"})
	// A segment sent, retransmitted, then acked: Karn's rule, no sample.
	b.tcp(at(100), cli, srv, tcpSeg{seq: c, ack: s, flags: "A", payload: make([]byte, 100)})
	b.tcp(at(300), cli, srv, tcpSeg{seq: c, ack: s, flags: "A", payload: make([]byte, 100)})
	c += 100
	b.tcp(at(310), srv, cli, tcpSeg{seq: s, ack: c, flags: "A"})
	// Out of order: the second segment is seen first; ACK 40 ms after the
	// later one (sample 40 ms, from the newest segment the ACK covers).
	b.tcp(at(320), cli, srv, tcpSeg{seq: c + 100, ack: s, flags: "A", payload: make([]byte, 100)})
	b.tcp(at(321), cli, srv, tcpSeg{seq: c, ack: s, flags: "A", payload: make([]byte, 100)})
	c += 200
	b.tcp(at(361), srv, cli, tcpSeg{seq: s, ack: c, flags: "A", win: 0, payload: nil})
	// The server advertises a zero window, then closes.
	b.tcp(at(362), srv, cli, tcpSeg{seq: s, ack: c, flags: "AZ"})
	b.tcp(at(400), cli, srv, tcpSeg{seq: c, ack: s, flags: "FA"})
	b.tcp(at(410), srv, cli, tcpSeg{seq: s, ack: c + 1, flags: "FA"})
	b.tcp(at(420), cli, srv, tcpSeg{seq: c + 1, ack: s + 1, flags: "A"})
	return b
}

func TestTCP(t *testing.T) {
	res := analyzeBytes(t, tcpCapture(t).bytes(layers.LinkTypeEthernet, fileKind{}), Config{})
	f := findFlow(t, res, "tcp")
	if f.Client != cli || f.Server != srv || f.Packets != 18 {
		t.Fatalf("flow %s → %s, %d packets", f.Client, f.Server, f.Packets)
	}
	tc := f.TCP
	if tc.HandshakeRTTMs == nil || !near(*tc.HandshakeRTTMs, 20, 1e-9) {
		t.Fatalf("handshake rtt %v", tc.HandshakeRTTMs)
	}
	// Samples: 25 ms (request), 5 ms (the response, acked by the client's
	// next segment), 29 ms (pair, newest segment), none for the
	// retransmitted one, 41 ms for the out-of-order pair (from the segment
	// seen first; the one filling the gap is not new data).
	if tc.RTT == nil {
		t.Fatal("no rtt")
	}
	if tc.RTT.Samples != 4 || !near(tc.RTT.MinMs, 5, 1e-9) || !near(tc.RTT.AvgMs, 25, 1e-9) || !near(tc.RTT.MaxMs, 41, 1e-9) {
		t.Fatalf("rtt %+v", tc.RTT)
	}
	if tc.Retransmissions != 1 || tc.OutOfOrder != 1 || tc.ZeroWindows != 1 || tc.Resets != 0 {
		t.Fatalf("tcp %+v", tc)
	}
	if tc.PayloadFwd != 37+1000+100+100+200 || tc.PayloadRev != 1000 || !near(tc.GoodputRevBps, 1000*8/0.42, 1e-6) {
		t.Fatalf("payload fwd/rev %d/%d", tc.PayloadFwd, tc.PayloadRev)
	}
	h := f.HTTP
	if h == nil || h.Requests != 1 || h.Responses != 1 || h.Methods["GET"] != 1 || h.Statuses["200"] != 1 ||
		len(h.Samples) != 1 || h.Samples[0] != "GET /index.html HTTP/1.1" {
		t.Fatalf("http %+v", h)
	}
	if !near(f.DurationS, 0.42, 1e-9) {
		t.Fatalf("duration %v", f.DurationS)
	}
}

func TestICMPEcho(t *testing.T) {
	for _, fam := range []struct{ name, a, b string }{{"v4", "10.1.1.1", "10.1.1.2"}, {"v6", "fd00::1", "fd00::2"}} {
		t.Run(fam.name, func(t *testing.T) {
			b := newCap(t)
			for seq := uint16(1); seq <= 10; seq++ {
				ms := float64(seq) * 1000
				b.echo(at(ms), fam.a, fam.b, 77, seq, false)
				if seq != 4 && seq != 9 {
					b.echo(at(ms+1.5), fam.b, fam.a, 77, seq, true)
				}
			}
			b.echo(at(20000), fam.a, fam.b, 78, 1, false) // another identifier
			res := analyzeBytes(t, b.bytes(layers.LinkTypeEthernet, fileKind{}), Config{})
			if len(res.Flows) != 2 {
				t.Fatalf("%d flows, want 2 (one per identifier)", len(res.Flows))
			}
			ic := res.Flows[0].ICMP
			if ic == nil || ic.Identifier != 77 || ic.Requests != 10 || ic.Replies != 8 || ic.Lost != 2 || ic.LossPct != 20 {
				t.Fatalf("icmp %+v", ic)
			}
			if ic.RTT == nil || !near(ic.RTT.AvgMs, 1.5, 1e-9) || ic.RTT.MdevMs > 1e-9 {
				t.Fatalf("rtt %+v", ic.RTT)
			}
		})
	}
}

// echoCapture is a plain UDP echo (the seed's client): replies mirror the
// request 3 ms later; requests every 20 ms.
func echoCapture(t *testing.T, a, b string) *capBuilder {
	c := newCap(t)
	for i := range 10 {
		msg := []byte(fmt.Sprintf("hello %d", i))
		c.udp(at(float64(i)*20), a, b, msg)
		c.udp(at(float64(i)*20+3), b, a, msg)
	}
	return c
}

func TestLinkTypesAndFormats(t *testing.T) {
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6}
	kinds := []fileKind{{}, {ng: true}, {gz: true}, {ng: true, gz: true}}
	for _, link := range links {
		for _, kind := range kinds {
			for _, v6 := range []bool{false, true} {
				if (link == layers.LinkTypeIPv4 && v6) || (link == layers.LinkTypeIPv6 && !v6) {
					continue
				}
				name := fmt.Sprintf("%s/ng=%v/gz=%v/v6=%v", linkName(link), kind.ng, kind.gz, v6)
				t.Run(name, func(t *testing.T) {
					a, b := "127.0.0.1:5000", "127.0.0.1:6000"
					if v6 {
						a, b = "[::1]:5000", "[::1]:6000"
					}
					res := analyzeBytes(t, echoCapture(t, a, b).bytes(link, kind), Config{})
					wantFormat := FormatPcap
					if kind.ng {
						wantFormat = FormatPcapng
					}
					if res.Format != wantFormat || res.Gzip != kind.gz || res.Stopped != nil {
						t.Fatalf("format %s gzip %v stopped %+v", res.Format, res.Gzip, res.Stopped)
					}
					if res.Packets != 20 || len(res.Flows) != 1 || res.NonIP+res.Malformed != 0 {
						t.Fatalf("packets %d flows %d nonip %d malformed %d", res.Packets, len(res.Flows), res.NonIP, res.Malformed)
					}
					f := res.Flows[0]
					if f.Client != a || f.Server != b || f.PacketsFwd != 10 || f.PacketsRev != 10 {
						t.Fatalf("flow %+v", f)
					}
					if f.UDP == nil || f.UDP.EchoRTT == nil || f.UDP.EchoRTT.Samples != 10 || !near(f.UDP.EchoRTT.AvgMs, 3, 1e-9) {
						t.Fatalf("udp %+v", f.UDP)
					}
					// Evenly paced in both directions: no jitter.
					if f.UDP.JitterFwdMs != 0 || f.UDP.JitterRevMs != 0 {
						t.Fatalf("jitter %v/%v", f.UDP.JitterFwdMs, f.UDP.JitterRevMs)
					}
				})
			}
		}
	}
}

func TestThroughput(t *testing.T) {
	// 3 s of traffic: 10 packets in the first second, 30 in the second, 10
	// in the third, 1000-byte frames (raw IP, so frame = datagram).
	b := newCap(t)
	payload := make([]byte, 1000-28)
	ms := 0.0
	for _, n := range []int{10, 30, 10} {
		for i := range n {
			b.udp(at(ms+float64(i)*1000/float64(n)), "10.0.0.1:1", "10.0.0.2:2", payload)
		}
		ms += 1000
	}
	res := analyzeBytes(t, b.bytes(layers.LinkTypeRaw, fileKind{}), Config{})
	f := res.Flows[0]
	if f.Bytes != 50000 || f.PacketSize.Min != 1000 || f.PacketSize.Max != 1000 {
		t.Fatalf("bytes %d sizes %+v", f.Bytes, f.PacketSize)
	}
	if f.PeakBps != 30*1000*8 {
		t.Fatalf("peak %v bps, want %v", f.PeakBps, 30*1000*8)
	}
	wantAvg := 50000 * 8 / f.DurationS
	if !near(f.ThroughputBps, wantAvg, 1e-6) || f.DurationS < 2.8 {
		t.Fatalf("avg %v bps over %v s", f.ThroughputBps, f.DurationS)
	}
}

func TestFlowTableBounded(t *testing.T) {
	b := newCap(t)
	// One big flow, then 1000 one-packet flows.
	for i := range 50 {
		b.udp(at(float64(i)), "10.0.0.1:1000", "10.0.0.2:2000", make([]byte, 500))
	}
	for i := range 1000 {
		b.udp(at(100+float64(i)), fmt.Sprintf("10.0.%d.%d:3000", i/200+1, i%200+1), "10.0.0.2:53", []byte("q"))
	}
	res := analyzeBytes(t, b.bytes(layers.LinkTypeRaw, fileKind{}), Config{MaxFlows: 100})
	if len(res.Flows) > 100 {
		t.Fatalf("%d flows kept with MaxFlows 100", len(res.Flows))
	}
	if res.FlowsTotal != 1001 || res.Evicted.Flows+int64(len(res.Flows)) != 1001 {
		t.Fatalf("total %d evicted %d kept %d", res.FlowsTotal, res.Evicted.Flows, len(res.Flows))
	}
	var pk int64
	for _, f := range res.Flows {
		pk += f.Packets
	}
	if pk+res.Evicted.Packets != res.Packets {
		t.Fatalf("packets kept %d + evicted %d != %d", pk, res.Evicted.Packets, res.Packets)
	}
	if res.Flows[0].Packets != 50 {
		t.Fatalf("the big flow was evicted: top flow has %d packets", res.Flows[0].Packets)
	}
}

func TestFilter(t *testing.T) {
	b := qosCapture(t)
	b.frames = append(b.frames, tcpCapture(t).frames...)
	data := b.bytes(layers.LinkTypeEthernet, fileKind{})
	tests := []struct {
		expr  string
		flows int
		proto string
	}{
		{"", 2, ""},
		{"udp", 1, "udp"},
		{"tcp", 1, "tcp"},
		{"port 9000", 1, "udp"},
		{"not port 9000", 1, "tcp"},
		{"host 192.168.1.10", 1, "tcp"},
		{"net 10.0.0.0/8 and udp", 1, "udp"},
		{"(tcp or udp) and not (port 80 or port 9000)", 0, ""},
		{"icmp", 0, ""},
		{"TCP and PORT 80", 1, "tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f, err := ParseFilter(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			res := analyzeBytes(t, data, Config{Filter: f})
			if len(res.Flows) != tt.flows || (tt.proto != "" && res.Flows[0].Protocol != tt.proto) {
				t.Fatalf("%d flows %+v", len(res.Flows), res.Flows)
			}
		})
	}
	for _, bad := range []string{"port", "port x", "host nothost", "net 10/8", "udp and", "(udp", "udp)", "frob", "not"} {
		if _, err := ParseFilter(bad); !errors.Is(err, ErrFilter) {
			t.Errorf("ParseFilter(%q) = %v, want ErrFilter", bad, err)
		}
	}
}

func TestTruncatedAndCorrupt(t *testing.T) {
	full := echoCapture(t, "127.0.0.1:5000", "127.0.0.1:6000").bytes(layers.LinkTypeEthernet, fileKind{})
	// Every record here is 16 bytes of header + 14 + 20 + 8 + len("hello N").
	rec := 16 + 14 + 20 + 8 + 7
	start6 := 24 + 5*rec

	corrupt := bytes.Clone(full)
	// Record 6 claims a 4 GB capture length.
	copy(corrupt[start6+8:], []byte{0xf0, 0xff, 0xff, 0xff})

	tests := []struct {
		name    string
		data    []byte
		packets int64
		stopAt  int64
		offset  int64
		reason  string
	}{
		{"cut inside record 6", full[:start6+20], 5, 6, int64(start6), "unexpected EOF"},
		{"cut inside header 6", full[:start6+3], 5, 6, int64(start6), "unexpected EOF"},
		{"cut at a record boundary", full[:start6], 5, 0, 0, ""},
		{"huge capture length", corrupt, 5, 6, int64(start6), "capture length exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := analyzeBytes(t, tt.data, Config{})
			if res.Packets != tt.packets {
				t.Fatalf("%d packets analysed, want %d", res.Packets, tt.packets)
			}
			if tt.stopAt == 0 {
				if res.Stopped != nil {
					t.Fatalf("stopped %+v on a clean cut", res.Stopped)
				}
				return
			}
			s := res.Stopped
			if s == nil || s.Packet != tt.stopAt || s.Offset != tt.offset || !bytes.Contains([]byte(s.Reason), []byte(tt.reason)) {
				t.Fatalf("stopped %+v, want packet %d offset %d reason %q", s, tt.stopAt, tt.offset, tt.reason)
			}
		})
	}

	t.Run("truncated pcapng and gzip", func(t *testing.T) {
		for _, kind := range []fileKind{{ng: true}, {gz: true}, {ng: true, gz: true}} {
			data := echoCapture(t, "127.0.0.1:5000", "127.0.0.1:6000").bytes(layers.LinkTypeEthernet, kind)
			res := analyzeBytes(t, data[:len(data)*2/3], Config{})
			if res.Stopped == nil || res.Packets == 0 || res.Packets >= 20 || res.Stopped.Packet != res.Packets+1 {
				t.Fatalf("%+v: packets %d stopped %+v", kind, res.Packets, res.Stopped)
			}
		}
	})

	t.Run("not a capture", func(t *testing.T) {
		for _, data := range [][]byte{nil, []byte("ab"), []byte("hello, world, this is text")} {
			if _, err := Analyze(context.Background(), bytes.NewReader(data), Config{}); !errors.Is(err, ErrNotCapture) {
				t.Errorf("Analyze(%q) = %v, want ErrNotCapture", data, err)
			}
		}
		if _, err := Analyze(context.Background(), bytes.NewReader(full[:10]), Config{}); err == nil {
			t.Error("10-byte pcap header accepted")
		}
	})
}

func TestReaderEOF(t *testing.T) {
	data := echoCapture(t, "127.0.0.1:5000", "127.0.0.1:6000").bytes(layers.LinkTypeEthernet, fileKind{})
	rd, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, _, _, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 20 || rd.Offset() != int64(len(data)) {
		t.Fatalf("%d packets, offset %d of %d", n, rd.Offset(), len(data))
	}
}

func FuzzAnalyze(f *testing.F) {
	t := &testing.T{}
	for _, kind := range []fileKind{{}, {ng: true}} {
		f.Add(echoCapture(t, "127.0.0.1:5000", "127.0.0.1:6000").bytes(layers.LinkTypeEthernet, kind))
		f.Add(tcpCapture(t).bytes(layers.LinkTypeLinuxSLL, kind))
		f.Add(qosCapture(t).bytes(layers.LinkTypeRaw, kind))
	}
	f.Add(echoCapture(t, "[::1]:5000", "[::1]:6000").bytes(layers.LinkTypeNull, fileKind{gz: true}))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Analyze(context.Background(), bytes.NewReader(data), Config{MaxFlows: 8, MaxSessions: 2, MaxHistograms: 4})
		if err != nil {
			return
		}
		var pk int64
		for _, fl := range res.Flows {
			pk += fl.Packets
		}
		if pk+res.Evicted.Packets+res.NonIP+res.OtherIP+res.Malformed+res.Filtered != res.Packets {
			t.Fatalf("packet accounting: flows %d evicted %d nonip %d otherip %d malformed %d != %d",
				pk, res.Evicted.Packets, res.NonIP, res.OtherIP, res.Malformed, res.Packets)
		}
	})
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"udp", "port 9000", "host 127.0.0.1 and not (tcp or icmp)", "net ::/0", "((((", "not not not"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fl, err := ParseFilter(s)
		if err == nil && fl != nil {
			fl.match(&packet{})
		}
	})
}

func TestPcapngMixedLinksAndTrailingBlocks(t *testing.T) {
	// Interface 0 is Ethernet, interface 1 raw IP (as dumpcap writes when
	// capturing on two interfaces); an interface statistics block ends the
	// file, as dumpcap writes on exit.
	b := echoCapture(t, "127.0.0.1:5000", "127.0.0.1:6000")
	var out bytes.Buffer
	w, err := pcapgo.NewNgWriter(&out, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeRaw, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range b.frames {
		iface, link := 0, layers.LinkTypeEthernet
		if i%2 == 1 {
			iface, link = raw, layers.LinkTypeRaw
		}
		data := linkFrame(link, f)
		ci := gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(data), Length: len(data), InterfaceIndex: iface}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{PacketsReceived: 10}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	res := analyzeBytes(t, out.Bytes(), Config{})
	if res.Stopped != nil || res.Packets != 20 || len(res.Flows) != 1 || res.Flows[0].UDP.EchoRTT.Samples != 10 {
		t.Fatalf("stopped %+v packets %d flows %d", res.Stopped, res.Packets, len(res.Flows))
	}
	if strings.Join(res.LinkTypes, ",") != "ethernet,raw" {
		t.Fatalf("link types %v", res.LinkTypes)
	}
}

func TestPcapHeaderWithoutData(t *testing.T) {
	// A record header promising 100 bytes, then nothing: truncated, even
	// though the reader sees a plain EOF there.
	full := echoCapture(t, "127.0.0.1:5000", "127.0.0.1:6000").bytes(layers.LinkTypeEthernet, fileKind{})
	rec := 16 + 14 + 20 + 8 + 7
	cut := full[:24+rec+16]
	res := analyzeBytes(t, cut, Config{})
	if res.Packets != 1 || res.Stopped == nil || res.Stopped.Packet != 2 || res.Stopped.Offset != int64(24+rec) {
		t.Fatalf("packets %d stopped %+v", res.Packets, res.Stopped)
	}
}

func TestFragmentsAndVLAN(t *testing.T) {
	b := newCap(t)
	b.udp(at(0), "10.0.0.1:1000", "10.0.0.2:2000", []byte("whole datagram"))
	// An IPv4 fragment (more-fragments set) and an IPv6 fragment header:
	// both are counted as other IP, not decoded as UDP.
	frag := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, Flags: layers.IPv4MoreFragments,
		SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
	b.add(at(1), netip.MustParseAddr("10.0.0.1"), frag, gopacket.Payload(make([]byte, 16)))
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6Fragment,
		SrcIP: net.ParseIP("fd00::1"), DstIP: net.ParseIP("fd00::2")}
	fh := []byte{byte(layers.IPProtocolUDP), 0, 0x00, 0x11, 0, 0, 0, 1} // offset 2 (×8), more fragments
	b.add(at(2), netip.MustParseAddr("fd00::1"), ip6, gopacket.Payload(append(fh, make([]byte, 16)...)))
	data := b.bytes(layers.LinkTypeEthernet, fileKind{})

	res := analyzeBytes(t, data, Config{})
	if res.Packets != 3 || res.OtherIP != 2 || len(res.Flows) != 1 {
		t.Fatalf("packets %d other %d flows %d", res.Packets, res.OtherIP, len(res.Flows))
	}

	// The same UDP datagram behind an 802.1Q tag.
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	frame := linkFrame(layers.LinkTypeEthernet, b.frames[0])
	tagged := append(append(append([]byte{}, frame[:12]...), 0x81, 0x00, 0x00, 0x64), frame[12:]...)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: at(0), CaptureLength: len(tagged), Length: len(tagged)}, tagged)
	res = analyzeBytes(t, out.Bytes(), Config{})
	if len(res.Flows) != 1 || res.Flows[0].Client != "10.0.0.1:1000" {
		t.Fatalf("vlan: flows %+v", res.Flows)
	}
}

var fuzzLinks = []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
	layers.LinkTypeNull, layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6}

// FuzzFrames feeds arbitrary frames straight to the analyzer, past the
// file framing: data is a sequence of [link index][length][frame] records.
func FuzzFrames(f *testing.F) {
	t := &testing.T{}
	seed := func(link int, b *capBuilder) {
		var s []byte
		for _, fr := range b.frames {
			data := linkFrame(fuzzLinks[link], fr)
			if len(data) > 255 {
				data = data[:255]
			}
			s = append(s, byte(link), byte(len(data)))
			s = append(s, data...)
		}
		f.Add(s)
	}
	seed(0, tcpCapture(t))
	seed(1, qosCapture(t))
	seed(4, echoCapture(t, "127.0.0.1:1", "127.0.0.1:2"))
	icmp := newCap(t)
	icmp.echo(at(0), "fd00::1", "fd00::2", 1, 1, false)
	icmp.echo(at(1), "fd00::2", "fd00::1", 1, 1, true)
	seed(6, icmp)
	f.Fuzz(func(t *testing.T, data []byte) {
		a := New(Config{MaxFlows: 4, MaxSessions: 2, MaxHistograms: 2})
		var n int64
		for ts := int64(0); len(data) >= 2; ts += 1e6 {
			link := fuzzLinks[int(data[0])%len(fuzzLinks)]
			l := min(int(data[1]), len(data)-2)
			frame := data[2 : 2+l]
			data = data[2+l:]
			a.AddFrame(link, frame, gopacket.CaptureInfo{Timestamp: time.Unix(0, ts), CaptureLength: l, Length: l})
			n++
		}
		res := a.Result()
		if res.Packets != n {
			t.Fatalf("%d packets counted, %d fed", res.Packets, n)
		}
	})
}

func TestTCPHandshakeVariants(t *testing.T) {
	data := make([]byte, 100)
	tests := []struct {
		name      string
		build     func(b *capBuilder)
		handshake float64 // 0: not measured
		retrans   int64
		rttN      int64
	}{
		{"plain", func(b *capBuilder) {
			b.tcp(at(0), cli, srv, tcpSeg{seq: 0, flags: "S"})
			b.tcp(at(5), srv, cli, tcpSeg{seq: 0, ack: 1, flags: "SA"})
			b.tcp(at(6), cli, srv, tcpSeg{seq: 1, ack: 1, flags: "A"})
		}, 6, 0, 0},
		{"retransmitted SYN", func(b *capBuilder) {
			b.tcp(at(0), cli, srv, tcpSeg{seq: 0, flags: "S"})
			b.tcp(at(1000), cli, srv, tcpSeg{seq: 0, flags: "S"})
			b.tcp(at(1005), srv, cli, tcpSeg{seq: 0, ack: 1, flags: "SA"})
			b.tcp(at(1006), cli, srv, tcpSeg{seq: 1, ack: 1, flags: "A"})
		}, 0, 1, 0},
		{"capture starts mid-flow", func(b *capBuilder) {
			b.tcp(at(0), cli, srv, tcpSeg{seq: 1e9, ack: 7, flags: "A", payload: data})
			b.tcp(at(8), srv, cli, tcpSeg{seq: 7, ack: 1e9 + 100, flags: "A"})
		}, 0, 0, 1},
		{"sequence numbers wrap", func(b *capBuilder) {
			b.tcp(at(0), cli, srv, tcpSeg{seq: 1<<32 - 50, ack: 7, flags: "A", payload: data})
			b.tcp(at(1), cli, srv, tcpSeg{seq: 50, ack: 7, flags: "A", payload: data})
			b.tcp(at(9), srv, cli, tcpSeg{seq: 7, ack: 150, flags: "A"})
		}, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newCap(t)
			tt.build(b)
			res := analyzeBytes(t, b.bytes(layers.LinkTypeRaw, fileKind{}), Config{})
			tc := res.Flows[0].TCP
			if (tt.handshake == 0) != (tc.HandshakeRTTMs == nil) || (tc.HandshakeRTTMs != nil && *tc.HandshakeRTTMs != tt.handshake) {
				t.Fatalf("handshake %v, want %v", tc.HandshakeRTTMs, tt.handshake)
			}
			var n int64
			if tc.RTT != nil {
				n = tc.RTT.Samples
			}
			if tc.Retransmissions != tt.retrans || n != tt.rttN || tc.OutOfOrder != 0 {
				t.Fatalf("tcp %+v, rtt samples %d", tc, n)
			}
		})
	}
}

func TestHTTPSamplesArePrintable(t *testing.T) {
	b := newCap(t)
	b.tcp(at(0), cli, srv, tcpSeg{seq: 1, ack: 1, flags: "PA", payload: []byte("GET /\x1b[2J\xff HTTP/1.1\r\nHost: x\r\n\r\n")})
	res := analyzeBytes(t, b.bytes(layers.LinkTypeRaw, fileKind{}), Config{})
	h := res.Flows[0].HTTP
	if h == nil || len(h.Samples) != 1 || h.Samples[0] != "GET /?[2J? HTTP/1.1" {
		t.Fatalf("http %+v", h)
	}
}

func TestAnalyzeCancelled(t *testing.T) {
	b := newCap(t)
	for i := range 3 * ctxCheckEvery {
		b.udp(at(float64(i)), "10.0.0.1:1", "10.0.0.2:2", []byte("x"))
	}
	data := b.bytes(layers.LinkTypeRaw, fileKind{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Analyze(ctx, bytes.NewReader(data), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Packets != ctxCheckEvery-1 || res.Stopped != nil {
		t.Fatalf("interrupted %v after %d packets, stopped %+v", res.Interrupted, res.Packets, res.Stopped)
	}
	if res = analyzeBytes(t, data, Config{}); res.Interrupted || res.Packets != 3*ctxCheckEvery {
		t.Fatalf("uncancelled: interrupted %v, %d packets", res.Interrupted, res.Packets)
	}
}

// Every flow is drawn on the capture's time axis in --interval buckets, and
// a short flow's peak is its bytes per interval, not its bytes over its own
// millisecond (which drew a spike far above "all traffic").
func TestFlowsShareOneTimeAxis(t *testing.T) {
	b := newCap(t)
	payload := make([]byte, 1000-28)
	for i := range 30 { // 30 kB over 3 s
		b.udp(at(float64(i)*100), "10.0.0.1:1", "10.0.0.2:2", payload)
	}
	small := make([]byte, 400-28)
	for i := range 12 { // 4.8 kB within 1.1 ms, 1.5 s in
		b.udp(at(1500+float64(i)*0.1), "10.0.0.3:3", "10.0.0.2:2", small)
	}
	res := analyzeBytes(t, b.bytes(layers.LinkTypeRaw, fileKind{}), Config{Interval: time.Second})
	f := findFlowBytes(t, res, 4800)
	if f.PeakBps != 4800*8 {
		t.Fatalf("short flow peak %v bit/s, want %v (4.8 kB in a 1 s bucket)", f.PeakBps, 4800*8)
	}
	var allMax float64
	for _, p := range res.Series {
		allMax = max(allMax, p.Bps)
		if p.Width != 1 {
			t.Fatalf("all-traffic bucket %+v, want 1 s wide", p)
		}
	}
	for _, fl := range res.Flows {
		var peak float64
		for _, p := range fl.Series {
			if p.Width != 1 || p.T != float64(int(p.T)) {
				t.Fatalf("flow %s bucket %+v: not on the 1 s grid from the capture start", fl.Client, p)
			}
			peak = max(peak, p.Bps)
		}
		if peak > allMax || peak != fl.PeakBps {
			t.Fatalf("flow %s: drawn peak %v, PEAK RATE %v, all traffic max %v", fl.Client, peak, fl.PeakBps, allMax)
		}
	}
}

func findFlowBytes(t *testing.T, r *Result, n int64) FlowReport {
	t.Helper()
	for _, f := range r.Flows {
		if f.Bytes == n {
			return f
		}
	}
	t.Fatalf("no flow of %d bytes in %+v", n, r.Flows)
	return FlowReport{}
}

// Bins and intervals are never finer than the capture's timestamps: a
// microsecond capture (pcap's classic magic, or pcapng with if_tsresol 6)
// draws RTT bins in whole microseconds and widens a 100 ns interval to 1 µs
// with a note; a nanosecond capture of the same traffic keeps its finer
// bins and the interval asked.
func TestResolutionFromTheFile(t *testing.T) {
	b := newCap(t)
	for i := range 100 {
		sent := at(float64(i) * 10)
		rtt := 50*time.Microsecond + time.Duration(i)*300*time.Nanosecond // 50…80 µs, as on loopback
		b.udp(sent, qosClient, qosServer, probe(9, uint64(i), sent.UnixNano(), false, 0, 100))
		b.udp(sent.Add(rtt), qosServer, qosClient, probe(9, uint64(i), sent.UnixNano(), true, sent.Add(rtt).UnixNano()-1e6, 100))
	}
	for _, tt := range []struct {
		name string
		kind fileKind
		res  int64
	}{
		{"pcap µs", fileKind{micro: true}, 1000},
		{"pcap ns", fileKind{}, 1},
		{"pcapng if_tsresol 6", fileKind{ng: true, micro: true}, 1000},
		{"pcapng ns", fileKind{ng: true}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := analyzeBytes(t, b.bytes(layers.LinkTypeEthernet, tt.kind), Config{Interval: 100 * time.Nanosecond})
			if res.ResolutionNs != tt.res {
				t.Fatalf("resolution %d ns, want %d", res.ResolutionNs, tt.res)
			}
			if widened := len(res.Notes) == 1 && strings.Contains(res.Notes[0], "using 1µs"); widened != (tt.res == 1000) || (tt.res == 1 && len(res.Notes) != 0) {
				t.Fatalf("notes %q", res.Notes)
			}
			q := res.Flows[0].QoS[0]
			if len(q.RTTBins) == 0 {
				t.Fatal("no RTT bins")
			}
			finest := q.RTTBins[0].Hi - q.RTTBins[0].Lo
			for _, bin := range q.RTTBins {
				if w := bin.Hi - bin.Lo; w%tt.res != 0 || w < tt.res {
					t.Fatalf("bin %+v: %d ns wide, not whole multiples of %d ns", bin, w, tt.res)
				}
			}
			if tt.res == 1 && finest >= 1000 {
				t.Fatalf("nanosecond capture: bins %d ns wide, no finer than microseconds", finest)
			}
		})
	}
}
