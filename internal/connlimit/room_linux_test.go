package connlimit

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// capped is a listener on 127.0.0.1 under cfg, with an acceptor that
// keeps every connection it is handed (the server side, never read).
type capped struct {
	l     *Limiter
	ln    net.Listener
	addr  string
	conns chan net.Conn
}

func startCapped(t *testing.T, cfg Config) *capped {
	t.Helper()
	return startCappedOn(t, cfg, func(ln net.Listener) net.Listener { return ln })
}

// startCappedOn is startCapped with the TCP listener wrapped by wrap.
func startCappedOn(t *testing.T, cfg Config, wrap func(net.Listener) net.Listener) *capped {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(cfg)
	c := &capped{l: l, ln: l.Listen(wrap(raw)), addr: raw.Addr().String(), conns: make(chan net.Conn, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			sc, err := c.ln.Accept()
			if err != nil {
				return
			}
			c.conns <- sc
		}
	}()
	t.Cleanup(func() {
		c.ln.Close()
		<-done
		close(c.conns)
		for sc := range c.conns {
			sc.Close()
		}
	})
	return c
}

// next is the next connection the acceptor was handed, within limit.
func (c *capped) next(t *testing.T, limit time.Duration) net.Conn {
	t.Helper()
	select {
	case sc := <-c.conns:
		return sc
	case <-time.After(limit):
		t.Fatalf("no connection handed over in %s", limit)
		return nil
	}
}

// fill takes every slot with an unfinished client.
func (c *capped) fill(t *testing.T, n int) []net.Conn {
	t.Helper()
	var held []net.Conn
	for range n {
		dialSend(t, c.addr, partialHead)
		held = append(held, c.next(t, 5*time.Second))
	}
	return held
}

// waitFor dials an unfinished client and waits until it sits in the room
// (the room's count reaches want).
func (c *capped) waitFor(t *testing.T, want int64) net.Conn {
	t.Helper()
	cl := dialSend(t, c.addr, partialHead)
	eventually(t, 5*time.Second, "the unfinished newcomer never reached the waiting room", func() bool { return c.l.Stats().Waiting == want })
	return cl
}

// TestHostileWaitingRoom (issue 13 #4): at the cap an unfinished newcomer
// is neither closed nor handed to the server: it waits, and is handed
// over when a slot frees, oldest first; the room overflows oldest first;
// a waiter is closed when WaitTimeout has passed since its accept; a
// waiter whose client has gone is not handed over; a whole request gets
// in at once, ahead of the waiters.
func TestHostileWaitingRoom(t *testing.T) {
	t.Run("served when a slot frees, oldest first", func(t *testing.T) {
		c := startCapped(t, Config{Max: 1, MaxWaiting: 4})
		held := c.fill(t, 1)
		first, second := c.waitFor(t, 1), c.waitFor(t, 2)
		if closedSoon(first) || closedSoon(second) {
			t.Fatal("a waiting newcomer was closed")
		}
		select {
		case sc := <-c.conns:
			t.Fatalf("%s handed over at the cap", sc.RemoteAddr())
		default:
		}
		held[0].Close()
		got := c.next(t, 5*time.Second)
		if got.RemoteAddr().String() != first.LocalAddr().String() {
			t.Fatalf("handed over %s, want the oldest waiter %s", got.RemoteAddr(), first.LocalAddr())
		}
		buf := make([]byte, len(partialHead))
		got.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(got, buf); err != nil || string(buf) != partialHead {
			t.Fatalf("the promoted connection reads %q (%v), want what its client sent", buf, err)
		}
		if st := c.l.Stats(); st.Promoted != 1 || st.Waiting != 1 || st.Open != 1 || st.Shed != 0 || st.Refused != 0 {
			t.Fatalf("stats %+v, want 1 promoted, 1 waiting, 1 open", st)
		}
	})
	t.Run("overflow sheds the oldest", func(t *testing.T) {
		c := startCapped(t, Config{Max: 1, MaxWaiting: 2})
		c.fill(t, 1)
		a, b := c.waitFor(t, 1), c.waitFor(t, 2)
		cl := dialSend(t, c.addr, partialHead)
		eventually(t, 5*time.Second, "the third waiter never shed the first", func() bool { return c.l.Stats().Shed == 1 })
		if !closedSoon(a) {
			t.Error("the oldest waiter was not shed")
		}
		for i, w := range []net.Conn{b, cl} {
			if closedSoon(w) {
				t.Errorf("waiter %d shed, want only the oldest", i+1)
			}
		}
		if st := c.l.Stats(); st.Waiting != 2 || st.Refused != 0 {
			t.Fatalf("stats %+v, want 2 waiting, none refused", st)
		}
	})
	t.Run("closed at its deadline", func(t *testing.T) {
		const wait = 300 * time.Millisecond
		c := startCapped(t, Config{Max: 1, WaitTimeout: wait})
		c.fill(t, 1)
		start := time.Now()
		w := dialSend(t, c.addr, partialHead)
		w.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := w.Read(make([]byte, 1))
		took := time.Since(start)
		if ne, ok := err.(net.Error); err == nil || (ok && ne.Timeout()) {
			t.Fatalf("waiter still open after %s (%v), want it closed after %s", took, err, wait)
		}
		if took < wait {
			t.Fatalf("waiter closed after %s, before its deadline (%s)", took, wait)
		}
		eventually(t, 5*time.Second, "the closed waiter not counted as shed", func() bool { return c.l.Stats().Shed == 1 })
		if st := c.l.Stats(); st.Waiting != 0 || st.Promoted != 0 {
			t.Fatalf("stats %+v, want it shed", st)
		}
	})
	t.Run("a gone client is not handed over", func(t *testing.T) {
		c := startCapped(t, Config{Max: 1, MaxWaiting: 4})
		held := c.fill(t, 1)
		gone := c.waitFor(t, 1)
		// A client that finished its head while waiting, then half-closed
		// (issue 13 #8), is still served.
		halfClosed := c.waitFor(t, 2)
		io.WriteString(halfClosed, "1\r\n\r\n")
		halfClosed.(*net.TCPConn).CloseWrite()
		gone.Close()
		ln := c.ln.(*listener)
		eventually(t, 5*time.Second, "the server's socket never saw the client go", func() bool {
			ln.mu.Lock()
			defer ln.mu.Unlock()
			return ln.gone(ln.room.oldest().fd)
		})
		held[0].Close()
		got := c.next(t, 5*time.Second)
		if got.RemoteAddr().String() != halfClosed.LocalAddr().String() {
			t.Fatalf("handed over %s, want the half-closed waiter with a whole head %s", got.RemoteAddr(), halfClosed.LocalAddr())
		}
		if st := c.l.Stats(); st.Shed != 1 || st.Promoted != 1 {
			t.Fatalf("stats %+v, want the gone waiter shed", st)
		}
	})
	t.Run("a whole request gets in at once", func(t *testing.T) {
		c := startCapped(t, Config{Max: 2})
		held := c.fill(t, 2)
		c.waitFor(t, 1)
		c.waitFor(t, 2)
		normal := dialSend(t, c.addr, wholeHead)
		got := c.next(t, 5*time.Second)
		if got.RemoteAddr().String() != normal.LocalAddr().String() {
			t.Fatalf("handed over %s, want the whole request from %s", got.RemoteAddr(), normal.LocalAddr())
		}
		if !closedSoon(held[0]) || closedSoon(held[1]) {
			t.Fatal("the whole request did not take the longest holder's slot")
		}
		if st := c.l.Stats(); st.Evicted != 1 || st.Waiting != 2 {
			t.Fatalf("stats %+v, want 1 evicted, 2 still waiting", st)
		}
	})
}

// TestHostileSlowlorisChurnBounded (issue 13 #4): unfinished clients over
// the cap that reconnect as soon as they are closed cost the server no
// accepts once they wait: with the room, the number of accepts over a
// window after every client got in is zero, however slowly the machine
// runs; with the room off (MaxWaiting < 0) the same clients are closed and
// reconnect, and the server accepts them again and again.
func TestHostileSlowlorisChurnBounded(t *testing.T) {
	const max, clients = 8, 40
	for _, tc := range []struct {
		name    string
		waiting int
	}{{"waiting room", clients}, {"no room", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCapped(t, Config{Max: max, MaxWaiting: tc.waiting, WaitTimeout: time.Minute})
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() { reconnecting(c.addr, stop) })
			}
			defer func() { close(stop); wg.Wait() }()
			eventually(t, 10*time.Second, "the clients never filled the cap", func() bool {
				st := c.l.Stats()
				return st.Open == max && (tc.waiting < 0 || st.Waiting == clients-max)
			})
			before := c.l.accepts.Load()
			time.Sleep(500 * time.Millisecond)
			n := c.l.accepts.Load() - before
			switch {
			case tc.waiting > 0 && n != 0:
				t.Fatalf("%d accepts in 500 ms with every client waiting or held, want none", n)
			case tc.waiting < 0 && n < clients-max:
				t.Fatalf("%d accepts in 500 ms without a room, want the shed clients' reconnects (at least %d)", n, clients-max)
			}
			t.Logf("%d accepts in 500 ms, stats %+v", n, c.l.Stats())
		})
	}
}

// reconnecting is a slowloris client: it sends part of a head, waits for
// the server to close it and reconnects at once (at most 10,000 times).
func reconnecting(addr string, stop <-chan struct{}) {
	for range 10000 {
		select {
		case <-stop:
			return
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		io.WriteString(c, partialHead)
		closed := make(chan struct{})
		go func() { io.Copy(io.Discard, c); close(closed) }()
		select {
		case <-stop:
		case <-closed:
		}
		c.Close()
		<-closed
	}
}

// opaqueConn hides the socket underneath, as the relay's impairment
// wrapper does: nothing can peek through it.
type opaqueConn struct{ c net.Conn }

func (o *opaqueConn) Read(b []byte) (int, error)         { return o.c.Read(b) }
func (o *opaqueConn) Write(b []byte) (int, error)        { return o.c.Write(b) }
func (o *opaqueConn) Close() error                       { return o.c.Close() }
func (o *opaqueConn) LocalAddr() net.Addr                { return o.c.LocalAddr() }
func (o *opaqueConn) RemoteAddr() net.Addr               { return o.c.RemoteAddr() }
func (o *opaqueConn) SetDeadline(t time.Time) error      { return o.c.SetDeadline(t) }
func (o *opaqueConn) SetReadDeadline(t time.Time) error  { return o.c.SetReadDeadline(t) }
func (o *opaqueConn) SetWriteDeadline(t time.Time) error { return o.c.SetWriteDeadline(t) }

// opaqueLayer wraps every connection of its listener in an opaqueConn
// (what the proxy's WrapConn listener does with the relay's wrapper).
type opaqueLayer struct{ net.Listener }

func (l opaqueLayer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.WrapConn(c), nil
}
func (l opaqueLayer) Unwrap() net.Listener         { return l.Listener }
func (l opaqueLayer) WrapConn(c net.Conn) net.Conn { return &opaqueConn{c} }

// TestWaitingRoomThroughWrapper: a connection wrapper that hides the
// socket (the relay's stream impairment on the proxy's listener) does not
// hide newcomers from the peek at the cap: the limiter accepts from the
// TCP socket underneath, unfinished newcomers wait, a whole request is
// handed over, and every connection handed over, promoted ones included,
// has been through the wrapper.
func TestWaitingRoomThroughWrapper(t *testing.T) {
	c := startCappedOn(t, Config{Max: 1}, func(ln net.Listener) net.Listener { return opaqueLayer{ln} })
	held := c.fill(t, 1)[0]
	waiting := c.waitFor(t, 1)
	normal := dialSend(t, c.addr, wholeHead)
	got := c.next(t, 5*time.Second)
	if got.RemoteAddr().String() != normal.LocalAddr().String() {
		t.Fatalf("handed over %s, want the whole request %s", got.RemoteAddr(), normal.LocalAddr())
	}
	got.Close()
	promoted := c.next(t, 5*time.Second)
	if promoted.RemoteAddr().String() != waiting.LocalAddr().String() {
		t.Fatalf("promoted %s, want the waiter %s", promoted.RemoteAddr(), waiting.LocalAddr())
	}
	for _, sc := range []net.Conn{held, got, promoted} {
		if _, ok := sc.(*Conn).Conn.(*opaqueConn); !ok {
			t.Errorf("%s handed over as %T, not through the wrapper", sc.RemoteAddr(), sc.(*Conn).Conn)
		}
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
