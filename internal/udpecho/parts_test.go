package udpecho

import (
	"net/netip"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/qoswire"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(100, 0)
	tests := []struct {
		name  string
		steps []time.Duration // arrival offsets from t0
		rate  float64
		want  []bool
	}{
		{"burst then refuse", []time.Duration{0, 0, 0, 0}, 3, []bool{true, true, true, false}},
		{"refill", []time.Duration{0, 0, time.Second / 2}, 2, []bool{true, true, true}},
		{"partial refill", []time.Duration{0, 0, time.Second / 4}, 2, []bool{true, true, false}},
		{"capped at burst", []time.Duration{0, 10 * time.Second, 10 * time.Second, 10 * time.Second}, 2, []bool{true, true, true, false}},
		{"clock going back", []time.Duration{time.Second, 0, 0}, 1, []bool{true, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bucket
			for i, d := range tt.steps {
				if got := b.allow(t0.Add(d), tt.rate, tt.rate); got != tt.want[i] {
					t.Fatalf("step %d: %v, want %v", i, got, tt.want[i])
				}
			}
		})
	}
}

func TestLRUBounded(t *testing.T) {
	c := newLRU[int, int](3)
	for i := 0; i < 100; i++ {
		*c.get(i, func() int { return i }) += 0
	}
	if c.len() != 3 {
		t.Fatalf("len %d, want 3", c.len())
	}
	// The three most recent survive, older ones start over.
	if v := *c.get(99, func() int { return -1 }); v != 99 {
		t.Fatalf("recent entry lost: %d", v)
	}
	if v := *c.get(0, func() int { return -1 }); v != -1 {
		t.Fatalf("old entry kept: %d", v)
	}
}

// TestSessionTableBounded: spoofed sessions cannot grow the tables.
func TestSessionTableBounded(t *testing.T) {
	s, err := New(Config{MaxSessions: 8, MaxSources: 4, MaxPPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1, 0)
	b := make([]byte, qoswire.HeaderLen)
	for i := 0; i < 1000; i++ {
		h := qoswire.Header{Session: uint64(i)}
		h.Marshal(b)
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 40000)
		if v, n := s.main.handle(b, from, now); v != Reflected || n != 1 {
			t.Fatalf("verdict %v, count %d", v, n)
		}
	}
	if s.main.sessions.len() != 8 {
		t.Fatalf("session table %d entries, want 8", s.main.sessions.len())
	}
	s2, _ := New(Config{MaxSources: 4})
	for i := 0; i < 1000; i++ {
		s2.main.handle([]byte("x"), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 40000), now)
	}
	if s2.sources.len() != 4 {
		t.Fatalf("source table %d entries, want 4", s2.sources.len())
	}
}

func TestBlockedPorts(t *testing.T) {
	s, _ := New(Config{})
	src := netip.MustParseAddr("127.0.0.1")
	for port, want := range map[uint16]Verdict{0: DroppedPort, 7: DroppedPort, 19: DroppedPort, 53: DroppedPort, 123: DroppedPort, 40000: Echoed, 9001: Echoed, 9000: DroppedPort, 9090: DroppedPort} {
		if got, _ := s.main.handle([]byte("x"), netip.AddrPortFrom(src, port), time.Unix(1, 0)); got != want {
			t.Errorf("source port %d: %v, want %v", port, got, want)
		}
	}
}

// FuzzHandle: any datagram gets a verdict, and a reply (after stamping) is
// exactly as long as the request.
func FuzzHandle(f *testing.F) {
	good := make([]byte, 100)
	(&qoswire.Header{Session: 1}).Marshal(good)
	for _, s := range [][]byte{nil, []byte("hello"), []byte("SKLQ"), good} {
		f.Add(s)
	}
	s, _ := New(Config{MaxPPS: -1, MaxSessions: 16})
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := append([]byte(nil), b...)
		v, count := s.main.handle(b, from, time.Unix(1, 0))
		switch v {
		case Echoed, Malformed:
			if string(b) != string(orig) {
				t.Fatalf("plain datagram modified")
			}
		case Reflected:
			if count == 0 {
				t.Fatalf("reflected with count 0")
			}
			if err := qoswire.Reflect(b, 1, 2, count); err != nil {
				t.Fatalf("reflected a non-probe: %v", err)
			}
			if len(b) != len(orig) {
				t.Fatalf("reply length changed")
			}
		default:
			t.Fatalf("verdict %v", v)
		}
	})
}

// TestHandleAllocs: answering a known source and session allocates nothing.
func TestHandleAllocs(t *testing.T) {
	s, _ := New(Config{})
	b := make([]byte, 128)
	(&qoswire.Header{Session: 3}).Marshal(b)
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	now := time.Unix(1, 0)
	s.main.handle(b, from, now) // create the table entries
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Millisecond)
		s.main.handle(b, from, now)
		s.main.handle([]byte("plain"), from, now)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per datagram, want 0", allocs)
	}
}

func BenchmarkHandleProbe(b *testing.B) {
	s, _ := New(Config{MaxPPS: -1})
	buf := make([]byte, 128)
	(&qoswire.Header{Session: 3}).Marshal(buf)
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	now := time.Unix(1, 0)
	for b.Loop() {
		v, n := s.main.handle(buf, from, now)
		if v == Reflected {
			qoswire.Reflect(buf, 1, 2, n)
		}
	}
}

// The cap is per session: four streams from one host each get their own
// rate (the README's --streams 4 example), and what a session's cap drops
// is told to its sender in a report, apart from what arrived.
func TestRateCapPerSessionAndReport(t *testing.T) {
	s, err := New(Config{MaxPPS: 10, MaxSourcePPS: 1000})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1, 0)
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	b := make([]byte, 100)
	for sess := uint64(1); sess <= 4; sess++ {
		for seq := range uint64(12) {
			(&qoswire.Header{Session: sess, Seq: seq}).Marshal(b)
			v, n := s.main.handle(b, from, now)
			want := Reflected
			if seq >= 10 {
				want = DroppedRate
			}
			if v != want {
				t.Fatalf("session %d probe %d: %v, want %v", sess, seq, v, want)
			}
			if v == Reflected && n != seq+1 {
				t.Fatalf("session %d probe %d: count %d", sess, seq, n)
			}
		}
	}
	req := make([]byte, qoswire.ReportLen)
	if err := qoswire.MarshalReportRequest(req, 2); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.main.handle(req, from, now); v != Reported {
		t.Fatalf("report request: %v", v)
	}
	sess, r, ok, err := qoswire.ParseReport(req)
	if err != nil || !ok || sess != 2 || r.Received != 12 || r.DroppedRate != 2 || r.Bytes != 1200 || r.FirstRecv != now.UnixNano() {
		t.Fatalf("report %x %+v ok %v err %v", sess, r, ok, err)
	}
	// Another port is another sender: it learns nothing of session 2.
	other := make([]byte, qoswire.ReportLen)
	qoswire.MarshalReportRequest(other, 2)
	s.main.handle(other, netip.MustParseAddrPort("127.0.0.1:40001"), now)
	if _, r, ok, _ := qoswire.ParseReport(other); !ok || r.Received != 0 {
		t.Fatalf("report to another port: %+v", r)
	}
}

// The source cap holds all of an address's sessions together.
func TestRateCapPerSourceAcrossSessions(t *testing.T) {
	s, _ := New(Config{MaxPPS: 10, MaxSourcePPS: 15})
	now := time.Unix(1, 0)
	from := netip.MustParseAddrPort("192.0.2.1:40000")
	b := make([]byte, 64)
	reflected := 0
	for sess := uint64(1); sess <= 4; sess++ {
		for seq := range uint64(5) {
			(&qoswire.Header{Session: sess, Seq: seq}).Marshal(b)
			if v, _ := s.main.handle(b, from, now); v == Reflected {
				reflected++
			}
		}
	}
	if reflected != 15 {
		t.Fatalf("%d reflected from one address, want the source cap of 15", reflected)
	}
}

// A one-way probe is counted and timed, never answered; the report carries
// the count and the RFC 3550 jitter of its arrivals.
func TestOneWayCountedNotAnswered(t *testing.T) {
	s, _ := New(Config{MaxPPS: -1, MaxSourcePPS: -1})
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	b := make([]byte, 200)
	base := time.Unix(100, 0)
	// Sent every 10 ms; arrivals 10 ms apart except one 2 ms late.
	arrive := []time.Duration{0, 10, 22, 30, 40}
	for i, a := range arrive {
		h := qoswire.Header{Flags: qoswire.FlagOneWay, Session: 7, Seq: uint64(i), SendWall: base.Add(time.Duration(i) * 10 * time.Millisecond).UnixNano()}
		h.Marshal(b)
		if v, _ := s.main.handle(b, from, base.Add(a*time.Millisecond+time.Millisecond)); v != Counted {
			t.Fatalf("probe %d: %v, want counted", i, v)
		}
	}
	req := make([]byte, qoswire.ReportLen)
	qoswire.MarshalReportRequest(req, 7)
	s.main.handle(req, from, base.Add(time.Second))
	_, r, ok, _ := qoswire.ParseReport(req)
	// |D| = 0, 2, 2, 0 ms: J = 0 → 0.125 → 0.2421875 → 0.227… ms.
	want := 0.0
	for _, d := range []float64{0, 2e6, 2e6, 0} {
		want += (d - want) / 16
	}
	if !ok || r.Received != 5 || r.Bytes != 1000 || r.Jitter != int64(want) {
		t.Fatalf("report %+v ok %v, want 5 probes and jitter %v ns", r, ok, int64(want))
	}
	if st := s.Stats(); st.Reflected != 0 || st.Echoed != 0 {
		t.Fatalf("one-way probes were answered: %+v", st)
	}
}
