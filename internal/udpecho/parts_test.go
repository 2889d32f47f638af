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
		if v, n := s.handle(b, from, now); v != Reflected || n != 1 {
			t.Fatalf("verdict %v, count %d", v, n)
		}
	}
	if s.sessions.len() != 8 {
		t.Fatalf("session table %d entries, want 8", s.sessions.len())
	}
	s2, _ := New(Config{MaxSources: 4})
	for i := 0; i < 1000; i++ {
		s2.handle([]byte("x"), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 40000), now)
	}
	if s2.sources.len() != 4 {
		t.Fatalf("source table %d entries, want 4", s2.sources.len())
	}
}

func TestBlockedPorts(t *testing.T) {
	s, _ := New(Config{})
	src := netip.MustParseAddr("127.0.0.1")
	for port, want := range map[uint16]Verdict{0: DroppedPort, 7: DroppedPort, 19: DroppedPort, 53: DroppedPort, 123: DroppedPort, 40000: Echoed, 9001: Echoed, 9000: DroppedPort, 9090: DroppedPort} {
		if got, _ := s.handle([]byte("x"), netip.AddrPortFrom(src, port), time.Unix(1, 0)); got != want {
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
		v, count := s.handle(b, from, time.Unix(1, 0))
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
	s.handle(b, from, now) // create the table entries
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Millisecond)
		s.handle(b, from, now)
		s.handle([]byte("plain"), from, now)
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
		v, n := s.handle(buf, from, now)
		if v == Reflected {
			qoswire.Reflect(buf, 1, 2, n)
		}
	}
}
