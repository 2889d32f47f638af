package proxy

import (
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socklab/socklab/internal/connlimit"
)

// bridge hands fc's current request to the net/http server on a
// connection of its own (bridgeConn) that reads the request's head as the
// client sent it, then exactly its body, and nothing after: net/http
// serves that one request with all its semantics (Expect, 1xx, Flush,
// Hijack, a client going away read as a cancelled context). When net/http
// is done and reads for the next request, that read parks: the connection
// is the front's again, and the next bridged request on it is handed to
// the same parked net/http connection (no new goroutine, no accept). It
// reports whether the connection came back to the front; false means
// net/http closed it or a handler took it over (a tunnel).
func (f *front) bridge(fc *fconn) bool {
	bc := fc.bc
	if bc != nil && bc.load(fc) {
		select {
		case bc.next <- struct{}{}:
			return bc.wait()
		case <-bc.closed:
			// Closed while parked (a shutdown): a new one, below.
		}
	}
	bc = newBridgeConn(fc)
	fc.bc = bc
	bc.load(fc)
	select {
	case f.ln.ch <- bc:
	case <-f.ln.done:
		_ = fc.c.Close()
		return false
	}
	return bc.wait()
}

// wait blocks until net/http parks bc (the request is done and the
// connection is the front's) or closes it.
func (bc *bridgeConn) wait() bool {
	select {
	case <-bc.parked:
		return true
	case <-bc.closed:
		return false
	}
}

// release ends a parked net/http connection when the front closes the
// client connection.
func (bc *bridgeConn) release() {
	bc.quitOnce.Do(func() { close(bc.quit) })
}

// innerState keeps the connection cap's view of a bridged connection:
// busy while net/http serves it, detached once hijacked (a tunnel). Idle
// is net/http done with the request (response finished, background read
// over) and about to read the next: that read ends the bridged request.
func (f *front) innerState(c net.Conn, s http.ConnState) {
	bc, ok := c.(*bridgeConn)
	if !ok {
		return
	}
	switch s {
	case http.StateActive:
		f.p.conns.Set(bc.fc.c, connlimit.Busy)
	case http.StateIdle:
		bc.done.Store(true)
	case http.StateHijacked:
		bc.hijacked.Store(true)
		bc.wakeOnce.Do(func() { close(bc.wake) })
		f.p.conns.ConnState(bc.fc.c, http.StateHijacked)
	}
}

func newErrorLog(p *Proxy) *log.Logger {
	return slog.NewLogLogger(p.log.Handler(), slog.LevelDebug)
}

// bridgeConn is a client connection as net/http sees it: one bridged
// request at a time, parked in between.
type bridgeConn struct {
	net.Conn // the client connection: writes, addresses, deadlines
	fc       *fconn

	// Set by the front before each handoff (bridgeConn.load), read by
	// net/http's goroutine after it receives on next (or is accepted).
	head []byte // the request head, still to be read
	left int64  // body bytes still to be read; -1: until the connection ends

	active   atomic.Bool // net/http has the connection (a request is bridged)
	done     atomic.Bool // net/http finished the request: its next read parks
	hijacked atomic.Bool // a handler took the connection over
	wake     chan struct{}
	wakeOnce sync.Once
	abort    chan struct{} // net/http ended its background read (a deadline in the past)
	next     chan struct{} // front → net/http: a request is loaded
	parked   chan struct{} // net/http → front: done, the connection is the front's
	quit     chan struct{} // the front closed the connection
	quitOnce sync.Once

	closeOnce sync.Once
	closed    chan struct{}
}

func newBridgeConn(fc *fconn) *bridgeConn {
	return &bridgeConn{Conn: fc.c, fc: fc, wake: make(chan struct{}), abort: make(chan struct{}, 1),
		next: make(chan struct{}), parked: make(chan struct{}), quit: make(chan struct{}), closed: make(chan struct{})}
}

// load sets the request to hand over: fc's current one. It reports false
// when bc is closed.
func (bc *bridgeConn) load(fc *fconn) bool {
	select {
	case <-bc.closed:
		return false
	default:
	}
	h := &fc.hdr
	head := appendHead(bc.head[:0], h)
	left := int64(h.ContentLength())
	switch {
	case left == -1:
		// Chunked: net/http finds the body's end. Nothing after it is
		// read as a request: the guard drops it and the response closes
		// the connection (RFC 9112 §6.1).
	case left < 0:
		left = 0
	}
	bc.head, bc.left = head, left
	select {
	case <-bc.abort: // a stale end of a background read
	default:
	}
	bc.done.Store(false)
	bc.active.Store(true)
	return true
}

// NetConn lets the connection cap find the client connection.
func (c *bridgeConn) NetConn() net.Conn { return c.fc.c }

func (c *bridgeConn) Read(p []byte) (int, error) {
	if len(c.head) > 0 {
		n := copy(p, c.head)
		c.head = c.head[n:]
		return n, nil
	}
	br := c.fc.br
	if c.left != 0 {
		if c.left > 0 && int64(len(p)) > c.left {
			p = p[:c.left]
		}
		n, err := br.Read(p)
		if c.left > 0 {
			c.left -= int64(n)
		}
		return n, err
	}
	if c.hijacked.Load() {
		return br.Read(p)
	}
	if c.done.Load() {
		// net/http looks for the next request: the connection is the
		// front's until it hands one over.
		c.active.Store(false)
		select {
		case c.parked <- struct{}{}:
		case <-c.closed: // closed as idle by a shutdown
			return 0, io.EOF
		}
		select {
		case <-c.next:
			return c.Read(p)
		case <-c.quit:
			return 0, io.EOF
		case <-c.closed:
			return 0, io.EOF
		}
	}
	// net/http's background read while the handler runs: the client
	// going away (EOF, reset) cancels the request; bytes of a pipelined
	// next request stay buffered for the front.
	if _, err := br.Peek(1); err != nil {
		return 0, err
	}
	select {
	case <-c.abort:
		return 0, os.ErrDeadlineExceeded
	case <-c.wake:
		return br.Read(p)
	}
}

// SetReadDeadline passes deadlines on while net/http has the connection;
// one in the past is how net/http ends its background read, which may be
// waiting on c.abort.
func (c *bridgeConn) SetReadDeadline(t time.Time) error {
	if !c.active.Load() {
		return nil
	}
	err := c.Conn.SetReadDeadline(t)
	if !t.IsZero() && time.Until(t) <= 0 {
		select {
		case c.abort <- struct{}{}:
		default:
		}
	}
	return err
}

func (c *bridgeConn) SetWriteDeadline(t time.Time) error {
	if !c.active.Load() {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *bridgeConn) SetDeadline(t time.Time) error {
	_ = c.SetWriteDeadline(t)
	return c.SetReadDeadline(t)
}

// Close ends the net/http side. While net/http has the connection
// (Connection: close, an aborted handler, a tunnel's end) the client
// connection closes; while it is parked (the front has it: a shutdown
// closing idle connections, or the front gone) it is left to the front.
func (c *bridgeConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		if c.active.Load() {
			err = c.Conn.Close()
		}
		close(c.closed)
	})
	return err
}

// CloseWrite passes the half-close through (net/http uses it to let an
// error response reach the client before it closes).
func (c *bridgeConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
