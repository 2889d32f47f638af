package connlimit

import (
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeConn is a connection that only records being closed.
type fakeConn struct {
	net.Conn
	id     int
	closed atomic.Bool
}

func (c *fakeConn) Close() error { c.closed.Store(true); return nil }

type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) add(d time.Duration)     { c.t.Add(int64(d)) }
func newClock() *fakeClock                   { c := &fakeClock{}; c.t.Store(1e18); return c }
func admitN(l *Limiter, from, n int) []*Conn { return admitRange(l, from, n) }

func admitRange(l *Limiter, from, n int) []*Conn {
	out := make([]*Conn, 0, n)
	for i := range n {
		if c := l.admit(&fakeConn{id: from + i}); c != nil {
			out = append(out, c)
		}
	}
	return out
}

func id(c *Conn) int { return c.Conn.(*fakeConn).id }

// TestHostileSlowlorisEvictionO1 (issue 13 #4): at a cap of 4,096 with
// half the slots busy, every newcomer of a 20,000-connection slowloris
// evicts the connection idle the longest, in order, and no eviction looks
// at more than a constant number of busy connections (the old limiter
// scanned all 4,096 under its lock, on every accept).
func TestHostileSlowlorisEvictionO1(t *testing.T) {
	const max = 4096
	clk := newClock()
	var evicted atomic.Int64
	l := New(Config{Max: max, Now: clk.now, OnEvict: func(bool) { evicted.Add(1) }})
	first := admitN(l, 0, max)
	for _, c := range first[:max/2] {
		l.Set(c, Busy) // in a request: never evicted
	}
	idle := first[max/2:]
	const crowd = 20000
	for i := range crowd {
		c := l.admit(&fakeConn{id: max + i})
		if c == nil {
			t.Fatalf("newcomer %d refused with idle connections held", i)
		}
		// The victim is the oldest idle: the next of the first idle ones,
		// then the newcomers in their order of arrival.
		var want *fakeConn
		if i < len(idle) {
			want = idle[i].Conn.(*fakeConn)
		}
		if want != nil && !want.closed.Load() {
			t.Fatalf("newcomer %d: conn %d (oldest idle) not evicted", i, want.id)
		}
		clk.add(time.Millisecond)
	}
	if l.Open() != max || evicted.Load() != crowd {
		t.Fatalf("open %d evicted %d, want %d and %d", l.Open(), evicted.Load(), max, crowd)
	}
	if l.looks != 0 {
		t.Fatalf("evictions with idle connections at hand looked at %d busy ones", l.looks)
	}
	for _, c := range first[:max/2] {
		if c.Conn.(*fakeConn).closed.Load() {
			t.Fatalf("busy conn %d evicted", id(c))
		}
	}

	// All busy, none stalled: each newcomer is refused after a bounded look.
	all := New(Config{Max: max, Now: clk.now})
	for _, c := range admitN(all, 0, max) {
		all.Set(c, Busy)
	}
	for range 1000 {
		if all.admit(&fakeConn{}) != nil {
			t.Fatal("a newcomer evicted a busy connection")
		}
	}
	if all.looks > 1000*scanBudget {
		t.Fatalf("1000 refusals looked at %d connections, want at most %d", all.looks, 1000*scanBudget)
	}
}

// TestStalledWriterEvictable: a busy connection blocked in one write for
// StallAfter is evictable at the cap; one writing steadily is not.
func TestStalledWriterEvictable(t *testing.T) {
	clk := newClock()
	l := New(Config{Max: 2, StallAfter: time.Second, Now: clk.now})
	cs := admitN(l, 0, 2)
	l.Set(cs[0], Busy)
	l.Set(cs[1], Busy)
	cs[0].writing.Store(l.mono()) // blocked in a write from now on
	clk.add(500 * time.Millisecond)
	cs[1].writing.Store(l.mono())
	if l.admit(&fakeConn{}) != nil {
		t.Fatal("admitted with both slots busy and no write stalled yet")
	}
	clk.add(600 * time.Millisecond) // cs[0] blocked 1.1 s, cs[1] 0.6 s
	if l.admit(&fakeConn{id: 9}) == nil {
		t.Fatal("refused with a write stalled past StallAfter")
	}
	if !cs[0].Conn.(*fakeConn).closed.Load() || cs[1].Conn.(*fakeConn).closed.Load() {
		t.Fatal("evicted the wrong connection")
	}
}

// TestStates: hijacked connections count but are never evicted; closing
// frees the slot once, whatever reports it.
func TestStates(t *testing.T) {
	var opened, closed atomic.Int64
	l := New(Config{Max: 1, OnOpen: func() { opened.Add(1) }, OnClose: func() { closed.Add(1) }})
	c := l.admit(&fakeConn{})
	l.Set(c, Detached)
	l.Set(c, Idle) // a hijacked connection stays detached
	if l.admit(&fakeConn{}) != nil {
		t.Fatal("a tunnel was evicted")
	}
	c.Close()
	c.Close()
	if l.Open() != 0 || opened.Load() != 1 || closed.Load() != 1 {
		t.Fatalf("open %d, opened %d, closed %d", l.Open(), opened.Load(), closed.Load())
	}
	if l.admit(&fakeConn{}) == nil {
		t.Fatal("slot not freed")
	}
}

// TestSendTimeoutRealSocket: a peer that stops reading makes a large write
// fail after SendTimeout; one that reads slowly is never cut.
func TestSendTimeoutRealSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(Config{SendTimeout: 500 * time.Millisecond})
	lln := l.Listen(ln)
	defer lln.Close()
	for _, tc := range []struct {
		name  string
		reads bool
	}{{"stops reading", false}, {"reads slowly", true}} {
		t.Run(tc.name, func(t *testing.T) {
			peer, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			c, err := lln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			done := make(chan struct{})
			if tc.reads {
				// 512 KiB every 20 ms: slowly, but in reads large enough
				// to reopen TCP's window at once (smaller ones from a full
				// buffer leave the sender to its persist timer).
				go func() {
					defer close(done)
					buf := make([]byte, 512<<10)
					for {
						time.Sleep(20 * time.Millisecond)
						if _, err := io.ReadFull(peer, buf); err != nil {
							return
						}
					}
				}()
			} else {
				close(done)
			}
			const size = 40 << 20 // well past the socket buffers, and SendTimeout
			start := time.Now()
			n, err := c.Write(make([]byte, size))
			took := time.Since(start)
			switch {
			case !tc.reads && err == nil:
				t.Fatalf("wrote %d bytes to a peer that never reads", n)
			case !tc.reads && took > 10*time.Second:
				t.Fatalf("write gave up after %s", took)
			case tc.reads && err != nil:
				t.Fatalf("slow reader cut after %d bytes, %s: %v", n, took, err)
			case tc.reads && took < 2*l.cfg.SendTimeout:
				t.Fatalf("the write took %s: too fast to show the deadline renewed", took)
			}
			if !tc.reads && l.Stats().SendTimeouts == 0 {
				t.Fatal("send timeout not counted")
			}
			peer.Close()
			<-done
		})
	}
}

// TestDeferAccept: a connection that has sent nothing does not reach
// Accept before one that connected after it and sent its request.
func TestDeferAccept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lln := New(Config{}).Listen(ln)
	defer lln.Close()
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	talker, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer talker.Close()
	io.WriteString(talker, "GET / HTTP/1.1\r\n\r\n")
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	c, err := lln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.RemoteAddr().String() != talker.LocalAddr().String() {
		t.Fatalf("accepted %s first, want the one that sent its request (%s), not the silent %s", c.RemoteAddr(), talker.LocalAddr(), silent.LocalAddr())
	}
}

// eventually polls cond for up to limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFirstMessage(t *testing.T) {
	hello := func(recordLen, have int) []byte {
		b := append([]byte{22, 3, 1, byte(recordLen >> 8), byte(recordLen)}, make([]byte, recordLen)...)
		return b[:have]
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"nothing", nil, false},
		{"head", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), true},
		{"head, bare LFs", []byte("GET / HTTP/1.1\nHost: x\n\n"), true},
		{"unfinished head", []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "), false},
		{"a segment of a long head", []byte("GET / HTTP/1.1\r\nCookie: " + strings.Repeat("c", 1300)), true},
		{"whole ClientHello", hello(512, 517), true},
		{"ClientHello header only", hello(512, 5), false},
		{"half a short ClientHello", hello(512, 300), false},
		{"a segment of a long ClientHello", hello(1800, 1448), true},
	} {
		if got := FirstMessage(tc.b); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func FuzzFirstMessage(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{22, 3, 1, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) { FirstMessage(b) })
}
