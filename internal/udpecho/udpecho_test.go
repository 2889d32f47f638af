package udpecho

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/qoswire"
)

// fakeClock is a settable clock safe across the serving goroutine.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// start runs a reflector on 127.0.0.1:0; events arrive on the returned
// channel, one per datagram handled.
func start(t *testing.T, cfg Config) (*Server, netip.AddrPort, <-chan Event) {
	t.Helper()
	events := make(chan Event, 4096)
	cfg.Trace = func(e Event) { events <- e }
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return s, pc.LocalAddr().(*net.UDPAddr).AddrPort(), events
}

func dial(t *testing.T, to netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func roundTrip(t *testing.T, c *net.UDPConn, msg []byte) []byte {
	t.Helper()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 70000)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	return buf[:n]
}

func wait(t *testing.T, events <-chan Event) Event {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return Event{}
	}
}

func TestPlainEcho(t *testing.T) {
	s, addr, events := start(t, Config{})
	c := dial(t, addr)
	for _, msg := range [][]byte{
		[]byte("hello"),
		{},
		bytes.Repeat([]byte{0xAB}, 1400),
		bytes.Repeat([]byte("x"), 60000),
		[]byte("SKL"), // a prefix of the magic is still plain data
	} {
		got := roundTrip(t, c, msg)
		if !bytes.Equal(got, msg) {
			t.Fatalf("echo of %d bytes came back as %d bytes, different", len(msg), len(got))
		}
		if e := wait(t, events); e.Verdict != Echoed || e.Len != len(msg) {
			t.Fatalf("event %+v, want echoed %d", e, len(msg))
		}
	}
	if st := s.Stats(); st.Echoed != 5 || st.Received != 5 || st.BytesOut != st.BytesIn {
		t.Fatalf("stats %+v", st)
	}
}

func probe(t *testing.T, session, seq uint64, size int) []byte {
	t.Helper()
	b := make([]byte, size)
	for i := qoswire.HeaderLen; i < size; i++ {
		b[i] = byte(i * 7) // padding the reflector must leave alone
	}
	h := qoswire.Header{Session: session, Seq: seq, SendMono: 111, SendWall: 222}
	if err := h.Marshal(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProbeReflection(t *testing.T) {
	clock := &fakeClock{}
	clock.ns.Store(1_700_000_000_000_000_000)
	_, addr, events := start(t, Config{Now: clock.now})
	c := dial(t, addr)
	tests := []struct {
		session, seq uint64
		size         int
		wantCount    uint64
	}{
		{session: 7, seq: 0, size: qoswire.HeaderLen, wantCount: 1},
		{session: 7, seq: 1, size: 200, wantCount: 2},
		{session: 9, seq: 0, size: 1200, wantCount: 1}, // another session counts apart
		{session: 7, seq: 5, size: 100, wantCount: 3},
	}
	for _, tt := range tests {
		req := probe(t, tt.session, tt.seq, tt.size)
		reply := roundTrip(t, c, req)
		if len(reply) != len(req) {
			t.Fatalf("reply %d bytes for a %d-byte probe", len(reply), len(req))
		}
		h, err := qoswire.Parse(reply)
		if err != nil {
			t.Fatal(err)
		}
		if !h.IsReply() || h.Session != tt.session || h.Seq != tt.seq || h.SendMono != 111 || h.SendWall != 222 {
			t.Fatalf("reply header %+v", h)
		}
		if h.ReflRecv != clock.now().UnixNano() || h.ReflSend != clock.now().UnixNano() {
			t.Fatalf("reflector stamps %d/%d, want the reflector clock %d", h.ReflRecv, h.ReflSend, clock.now().UnixNano())
		}
		if h.ReflCount != tt.wantCount {
			t.Fatalf("session %d: count %d, want %d", tt.session, h.ReflCount, tt.wantCount)
		}
		if !bytes.Equal(reply[qoswire.HeaderLen:], req[qoswire.HeaderLen:]) {
			t.Fatalf("padding changed")
		}
		if e := wait(t, events); e.Verdict != Reflected {
			t.Fatalf("verdict %v, want reflected", e.Verdict)
		}
		clock.add(time.Millisecond)
	}
	// Another source port with the same session id is another session.
	c2 := dial(t, addr)
	h, _ := qoswire.Parse(roundTrip(t, c2, probe(t, 7, 0, 64)))
	if h.ReflCount != 1 {
		t.Fatalf("new source, session 7: count %d, want 1", h.ReflCount)
	}
}

func TestMalformedProbeEchoedPlain(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, addr, events := start(t, Config{Registerer: reg})
	c := dial(t, addr)
	badVersion := probe(t, 1, 1, 80)
	badVersion[4] = 99
	badLen := probe(t, 1, 1, 80)
	badLen[7] = 10
	for _, msg := range [][]byte{
		[]byte("SKLQ-too-short"),
		badVersion,
		badLen,
	} {
		got := roundTrip(t, c, msg)
		if !bytes.Equal(got, msg) {
			t.Fatalf("malformed probe not echoed unchanged")
		}
		if e := wait(t, events); e.Verdict != Malformed {
			t.Fatalf("verdict %v, want malformed", e.Verdict)
		}
	}
	if st := s.Stats(); st.Malformed != 3 {
		t.Fatalf("malformed count %d, want 3", st.Malformed)
	}
	if v := counterValue(t, reg, "socklab_serve_udp_packets_total", "malformed"); v != 3 {
		t.Fatalf("metric malformed = %v, want 3", v)
	}
}

func TestRateCap(t *testing.T) {
	clock := &fakeClock{}
	clock.ns.Store(1e18)
	reg := prometheus.NewRegistry()
	s, addr, events := start(t, Config{MaxPPS: 10, Now: clock.now, Registerer: reg})
	c := dial(t, addr)
	send := func(n int) (echoed, dropped int) {
		for i := 0; i < n; i++ {
			if _, err := c.Write([]byte("flood")); err != nil {
				t.Fatal(err)
			}
			switch wait(t, events).Verdict {
			case Echoed:
				echoed++
			case DroppedRate:
				dropped++
			}
		}
		return
	}
	// The clock stands still: one second of burst, then nothing.
	if e, d := send(25); e != 10 || d != 15 {
		t.Fatalf("frozen clock: %d echoed, %d dropped; want 10, 15", e, d)
	}
	// Half a second refills five tokens.
	clock.add(500 * time.Millisecond)
	if e, d := send(8); e != 5 || d != 3 {
		t.Fatalf("after 0.5 s: %d echoed, %d dropped; want 5, 3", e, d)
	}
	if st := s.Stats(); st.DroppedRate != 18 || st.Echoed != 15 {
		t.Fatalf("stats %+v", st)
	}
	if v := counterValue(t, reg, "socklab_serve_udp_packets_total", "dropped_rate"); v != 18 {
		t.Fatalf("metric dropped_rate = %v, want 18", v)
	}
	// Only the echoed datagrams came back.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	for i := 0; i < 15; i++ {
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(buf); err == nil {
		t.Fatalf("more than 15 replies")
	}
}

func TestRateCapPerSource(t *testing.T) {
	clock := &fakeClock{}
	clock.ns.Store(1e18)
	_, addr, events := start(t, Config{MaxPPS: 3, Now: clock.now})
	var mu sync.Mutex
	verdicts := map[string][]Verdict{}
	for _, src := range []string{"127.0.0.1", "127.0.0.2"} {
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)}, net.UDPAddrFromAddrPort(addr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := 0; i < 5; i++ {
			c.Write([]byte("x"))
			e := wait(t, events)
			mu.Lock()
			verdicts[e.From.Addr().String()] = append(verdicts[e.From.Addr().String()], e.Verdict)
			mu.Unlock()
		}
	}
	for src, v := range verdicts {
		echoed := 0
		for _, x := range v {
			if x == Echoed {
				echoed++
			}
		}
		if echoed != 3 {
			t.Errorf("%s: %d echoed of 5, want 3 (%v)", src, echoed, v)
		}
	}
	if len(verdicts) != 2 {
		t.Fatalf("sources %v, want two", verdicts)
	}
}

func TestNoCap(t *testing.T) {
	clock := &fakeClock{}
	_, addr, events := start(t, Config{MaxPPS: -1, Now: clock.now})
	c := dial(t, addr)
	for i := 0; i < 50; i++ {
		c.Write([]byte("x"))
		if v := wait(t, events).Verdict; v != Echoed {
			t.Fatalf("datagram %d: %v with no cap", i, v)
		}
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name, result string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestIPv6Echo(t *testing.T) {
	pc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	c := dial(t, pc.LocalAddr().(*net.UDPAddr).AddrPort())
	req := probe(t, 42, 0, 96)
	reply := roundTrip(t, c, req)
	h, err := qoswire.Parse(reply)
	if err != nil || !h.IsReply() || h.ReflCount != 1 || len(reply) != len(req) {
		t.Fatalf("IPv6 probe reply %+v, %v", h, err)
	}
	if got := roundTrip(t, c, []byte("hello v6")); string(got) != "hello v6" {
		t.Fatalf("IPv6 echo %q", got)
	}
}

// TestRealClockStamps: with the real clock (kernel arrival stamps where
// available) the reflector's stamps fall between the probe's departure and
// the reply's arrival, receive before send.
func TestRealClockStamps(t *testing.T) {
	_, addr, _ := start(t, Config{})
	c := dial(t, addr)
	for i := 0; i < 5; i++ {
		before := time.Now().UnixNano()
		reply := roundTrip(t, c, probe(t, 5, uint64(i), 64))
		after := time.Now().UnixNano()
		h, err := qoswire.Parse(reply)
		if err != nil {
			t.Fatal(err)
		}
		if h.ReflRecv < before || h.ReflRecv > h.ReflSend || h.ReflSend > after {
			t.Fatalf("stamps out of order: sent %d, reflector %d..%d, back %d", before, h.ReflRecv, h.ReflSend, after)
		}
	}
}
