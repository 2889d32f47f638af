package webserver

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// connLimiter enforces MaxConns. Idle keep-alive connections and clients
// that have not finished their first request headers are cheap to hold but
// are exactly what a slowloris or a crowd of idle browsers piles up, so at
// the cap the one idle the longest is closed to make room (nginx's
// "reusable connections" do the same). Only when every connection is busy
// in a request is the newcomer refused.
type connLimiter struct {
	max     int // <0: no cap
	metrics *metrics

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newConnLimiter(max int, m *metrics) *connLimiter {
	return &connLimiter{max: max, metrics: m, conns: map[*trackedConn]struct{}{}}
}

// trackedConn is a connection with the state net/http last reported.
type trackedConn struct {
	net.Conn
	l     *connLimiter
	state http.ConnState // guarded by l.mu
	since time.Time      // when state last changed; guarded by l.mu
	once  sync.Once
}

// ReadFrom passes the underlying connection's io.ReaderFrom through: that
// is how net/http hands a file to sendfile(2) instead of copying it.
func (c *trackedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite passes the half-close through: net/http uses it to let an
// error response reach the client before the connection closes (no RST).
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.remove(c) })
	return c.Conn.Close()
}

type limitListener struct {
	net.Listener
	l *connLimiter
}

func (l *connLimiter) wrap(ln net.Listener) net.Listener { return &limitListener{ln, l} }

func (ln *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, l: ln.l, state: http.StateNew, since: time.Now()}
		if ln.l.admit(tc) {
			return tc, nil
		}
		c.Close()
	}
}

// admit registers c, evicting the longest-idle connection if the cap is
// reached; it reports false when there is no room.
func (l *connLimiter) admit(c *trackedConn) bool {
	l.mu.Lock()
	var victim *trackedConn
	if l.max >= 0 && len(l.conns) >= l.max {
		for v := range l.conns {
			if v.state != http.StateNew && v.state != http.StateIdle {
				continue
			}
			if victim == nil || v.since.Before(victim.since) {
				victim = v
			}
		}
		if victim == nil {
			l.mu.Unlock()
			if l.metrics != nil {
				l.metrics.connsRefused.Inc()
			}
			return false
		}
		delete(l.conns, victim)
	}
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	if victim != nil {
		// Closing the socket ends the server's read on it; the server then
		// calls Close on the trackedConn, which finds it already removed.
		victim.once.Do(func() {})
		victim.Conn.Close()
		if l.metrics != nil {
			l.metrics.connsEvicted.Inc()
			l.metrics.conns.Dec()
		}
	}
	if l.metrics != nil {
		l.metrics.conns.Inc()
	}
	return true
}

func (l *connLimiter) remove(c *trackedConn) {
	l.mu.Lock()
	_, ok := l.conns[c]
	delete(l.conns, c)
	l.mu.Unlock()
	if ok && l.metrics != nil {
		l.metrics.conns.Dec()
	}
}

// connState is the http.Server hook that keeps each connection's state.
func (l *connLimiter) connState(c net.Conn, s http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	t, ok := c.(*trackedConn)
	if !ok {
		return
	}
	switch s {
	case http.StateClosed, http.StateHijacked:
		t.once.Do(func() { l.remove(t) })
		return
	}
	l.mu.Lock()
	t.state, t.since = s, time.Now()
	l.mu.Unlock()
}

// open reports how many connections are being tracked (for tests).
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}
