package connlimit

import (
	"errors"
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

// TestHostileShedUnfinishedAtCap (issue 13 #4): at the cap, over real
// sockets, newcomers that have sent only part of a request head are held
// by the accept loop itself in the waiting room (never handed to the
// server, not closed) and the slots stay with the clients that had them; a
// newcomer with a whole request head is handed over at once, ahead of the
// waiters, in the place of the connection waiting longest for its head; a
// keep-alive sitting idle gives its place even to a newcomer that is not
// finished.
func TestHostileShedUnfinishedAtCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const max = 4
	l := New(Config{Max: max})
	lln := l.Listen(ln)
	defer lln.Close()
	dial := func(send string) net.Conn { return dialSend(t, ln.Addr().String(), send) }
	accept := func() net.Conn { return acceptWithin(t, lln, 5*time.Second) }
	var holders []net.Conn
	for range max {
		holders = append(holders, dial(partialHead))
		accept()
	}
	slow := []net.Conn{dial(partialHead), dial(partialHead), dial(partialHead)}
	dial(wholeHead)
	got := accept() // puts the three in the room, then hands over the whole request
	buf := make([]byte, len(wholeHead))
	got.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(got, buf); err != nil || string(buf) != wholeHead {
		t.Fatalf("handed over %q (%v), want the whole request", buf, err)
	}
	if st := l.Stats(); st.Waiting != 3 || st.Shed != 0 || st.Refused != 0 || st.Evicted != 1 || st.Open != max {
		t.Fatalf("stats %+v, want 3 waiting, none shed or refused, 1 evicted, %d open", st, max)
	}
	for i, c := range slow {
		if closedSoon(c) {
			t.Errorf("unfinished newcomer %d closed, want it waiting", i)
		}
	}
	if !closedSoon(holders[0]) {
		t.Error("the holder waiting longest was not evicted for the whole request")
	}
	for i, c := range holders[1:] {
		if closedSoon(c) {
			t.Errorf("holder %d lost its slot to an unfinished newcomer", i+1)
		}
	}

	// A keep-alive between requests makes room even for an unfinished one.
	l.Set(got, Idle)
	dial(partialHead)
	accept()
	if st := l.Stats(); st.Shed != 0 || st.Evicted != 2 || st.Waiting != 3 {
		t.Fatalf("stats %+v: the idle keep-alive should have made room", st)
	}
}

const (
	partialHead = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
	wholeHead   = "GET /normal HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
)

// dialSend connects to addr and sends send; closed at the test's end.
func dialSend(t *testing.T, addr, send string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, send); err != nil {
		t.Fatal(err)
	}
	return c
}

// acceptWithin is one Accept that has to return within limit.
func acceptWithin(t *testing.T, ln net.Listener, limit time.Duration) net.Conn {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := ln.Accept(); ch <- res{c, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return r.c
	case <-time.After(limit):
		t.Fatalf("Accept returned nothing in %s", limit)
		return nil
	}
}

// closedSoon reports whether the server side closed c (EOF or reset
// within a second).
func closedSoon(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
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

// TestCloseWhileWaitingAtCap: Accept waiting at the cap (on the duplicate
// descriptor) returns when the listener closes, the connections in the
// waiting room are closed, and the port stops listening.
func TestCloseWhileWaitingAtCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lln := New(Config{Max: 1}).Listen(ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\n\r\n")
	held, err := lln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	errc := make(chan error, 1)
	go func() { _, err := lln.Accept(); errc <- err }()              // at the cap: waits
	waiting := dialSend(t, ln.Addr().String(), "GET / HTTP/1.1\r\n") // unfinished: waits, and Accept waits on
	l := lln.(*listener).l
	eventually(t, 5*time.Second, "the unfinished newcomer never reached the waiting room", func() bool { return l.Stats().Waiting == 1 })
	lln.Close()
	if !closedSoon(waiting) {
		t.Error("the waiting newcomer still open after Close")
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still waiting 5 s after Close")
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Fatal("the port still accepts connections after Close")
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
