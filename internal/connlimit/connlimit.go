// Package connlimit caps the connections an HTTP server holds and closes
// the ones that make no write progress. It owns one thing: a net.Listener
// wrapper that admits at most Max connections and, at the cap, closes the
// connection that is doing the least with its slot — the one idle the
// longest (a keep-alive between requests, or a client that has not finished
// its first request headers: a slowloris), else one stuck in a write (a
// client that does not read) — and refuses the newcomer only when every
// slot is in real use. Both socklab serve and socklab proxy use it.
//
// Every operation at the cap is O(1): idle connections sit in an intrusive
// list in the order they became idle, so the oldest is its head; busy ones
// sit in a second list that is scanned CLOCK-style, a bounded number of
// entries per eviction, for a writer that has stalled. (A scan of every
// connection under the lock on each eviction is what made a 4,600-client
// slowloris push a normal client's p99 past 100 ms, issue 13.)
//
// A write that makes no progress for SendTimeout fails and the server
// closes the connection, like nginx's send_timeout: the deadline is set
// before each chunk of at most WriteChunk bytes, so a client that keeps
// reading, however slowly, is never cut, and one that stops is.
package connlimit

import (
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for zero Config fields.
const (
	DefaultStallAfter = time.Second
	// WriteChunk is the most bytes one write is given SendTimeout for: a
	// client has to take 256 KiB per SendTimeout to stay connected.
	WriteChunk = 256 << 10
	// scanBudget bounds how many busy connections one eviction looks at.
	scanBudget = 16
)

// Config configures a Limiter. The zero value caps nothing and sets no
// write deadline.
type Config struct {
	// Max is the most connections held at once. Zero or negative: no cap.
	Max int
	// SendTimeout closes a connection whose write makes no progress for
	// this long (nginx's send_timeout). Zero: no write deadline.
	SendTimeout time.Duration
	// StallAfter makes a connection blocked in one write this long
	// evictable at the cap, like an idle one. Zero: DefaultStallAfter.
	StallAfter time.Duration
	// Hooks, each optional, called without the limiter's lock held.
	OnOpen   func()             // a connection was admitted
	OnClose  func()             // an admitted connection ended (evicted included)
	OnEvict  func(stalled bool) // a connection was closed to make room
	OnRefuse func()             // a newcomer was closed: every slot was busy
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// State is what the server last reported about a connection.
type State int

// Connection states. Fresh (no request yet) and Idle connections are evictable; Busy ones
// only when stalled in a write; Detached ones (hijacked: tunnels,
// WebSockets) still count against the cap but are never evicted.
const (
	Fresh State = iota
	Idle
	Busy
	Detached
)

// Limiter is the shared state of a capped listener.
type Limiter struct {
	cfg   Config
	now   func() time.Time
	epoch time.Time

	mu   sync.Mutex
	n    int
	idle list // Fresh and Idle, oldest first
	busy list // Busy, in CLOCK order

	evicted, refused, timeouts atomic.Uint64
	looks                      int // busy connections examined by evictions (tests); l.mu
}

// New returns a limiter for cfg.
func New(cfg Config) *Limiter {
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = DefaultStallAfter
	}
	l := &Limiter{cfg: cfg, now: cfg.Now}
	if l.now == nil {
		l.now = time.Now
	}
	l.epoch = l.now()
	return l
}

// Stats are a limiter's running figures.
type Stats struct {
	Open         int    `json:"open"`
	Evicted      uint64 `json:"evicted"`
	Refused      uint64 `json:"refused"`
	SendTimeouts uint64 `json:"send_timeouts"`
}

// Stats returns the figures so far.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	n := l.n
	l.mu.Unlock()
	return Stats{Open: n, Evicted: l.evicted.Load(), Refused: l.refused.Load(), SendTimeouts: l.timeouts.Load()}
}

// Open reports how many connections are held.
func (l *Limiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Listen wraps ln: its Accept admits connections under the cap.
func (l *Limiter) Listen(ln net.Listener) net.Listener { return &listener{Listener: ln, l: l} }

type listener struct {
	net.Listener
	l *Limiter
}

func (ln *listener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := ln.l.admit(c); tc != nil {
			return tc, nil
		}
		c.Close()
	}
}

// mono is the limiter clock as nanoseconds since New (never zero after the
// first tick, so zero can mean "not writing").
func (l *Limiter) mono() int64 { return int64(l.now().Sub(l.epoch)) + 1 }

// admit registers c, making room by eviction at the cap; nil when there is
// none.
func (l *Limiter) admit(c net.Conn) *Conn {
	tc := &Conn{Conn: c, l: l}
	l.mu.Lock()
	var victim *Conn
	var stalled bool
	if l.cfg.Max > 0 && l.n >= l.cfg.Max {
		victim, stalled = l.victimLocked()
		if victim == nil {
			l.mu.Unlock()
			l.refused.Add(1)
			if l.cfg.OnRefuse != nil {
				l.cfg.OnRefuse()
			}
			return nil
		}
		l.dropLocked(victim)
	}
	l.n++
	tc.state = Fresh
	l.idle.pushBack(tc)
	l.mu.Unlock()
	if victim != nil {
		// Closing the socket ends the server's read or write on it; the
		// server then calls Close, which finds it already dropped.
		victim.Conn.Close()
		l.evicted.Add(1)
		if l.cfg.OnEvict != nil {
			l.cfg.OnEvict(stalled)
		}
		if l.cfg.OnClose != nil {
			l.cfg.OnClose()
		}
	}
	if l.cfg.OnOpen != nil {
		l.cfg.OnOpen()
	}
	return tc
}

// victimLocked picks the connection to close at the cap: the oldest idle
// one, else the first busy one found stalled in a write within scanBudget
// looks (each one looked at goes to the back: CLOCK), else none.
func (l *Limiter) victimLocked() (*Conn, bool) {
	if v := l.idle.head; v != nil {
		return v, false
	}
	now := l.mono()
	stall := int64(l.cfg.StallAfter)
	for range min(scanBudget, l.busy.len) {
		l.looks++
		v := l.busy.head
		if w := v.writing.Load(); w != 0 && now-w >= stall {
			return v, true
		}
		l.busy.remove(v)
		l.busy.pushBack(v)
	}
	return nil, false
}

// dropLocked forgets c.
func (l *Limiter) dropLocked(c *Conn) {
	switch c.state {
	case Fresh, Idle:
		l.idle.remove(c)
	case Busy:
		l.busy.remove(c)
	}
	c.dropped = true
	l.n--
}

// drop forgets c if it is still held.
func (l *Limiter) drop(c *Conn) {
	l.mu.Lock()
	if c.dropped {
		l.mu.Unlock()
		return
	}
	l.dropLocked(c)
	l.mu.Unlock()
	if l.cfg.OnClose != nil {
		l.cfg.OnClose()
	}
}

// Set records c's new state. c may be the *Conn that Accept returned or a
// connection wrapping it (a *tls.Conn, or anything with a NetConn method);
// others are ignored.
func (l *Limiter) Set(c net.Conn, s State) {
	tc := find(c)
	if tc == nil || tc.l != l {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if tc.dropped || tc.state == s || tc.state == Detached {
		return
	}
	switch tc.state {
	case Fresh, Idle:
		l.idle.remove(tc)
	case Busy:
		l.busy.remove(tc)
	}
	tc.state = s
	switch s {
	case Fresh, Idle:
		l.idle.pushBack(tc)
	case Busy:
		l.busy.pushBack(tc)
	}
}

// ConnState is an http.Server ConnState hook that keeps the limiter's view
// of each connection (chain it with any other hook).
func (l *Limiter) ConnState(c net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		l.Set(c, Fresh)
	case http.StateIdle:
		l.Set(c, Idle)
	case http.StateActive:
		l.Set(c, Busy)
	case http.StateHijacked:
		// Still open and still counted, until the new owner closes it.
		l.Set(c, Detached)
	case http.StateClosed:
		if tc := find(c); tc != nil && tc.l == l {
			l.drop(tc)
		}
	}
}

// find unwraps c down to the limiter's *Conn.
func find(c net.Conn) *Conn {
	for range 8 {
		switch v := c.(type) {
		case *Conn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// Conn is an admitted connection.
type Conn struct {
	net.Conn
	l *Limiter

	// Guarded by l.mu.
	prev, next *Conn
	state      State
	dropped    bool

	writing atomic.Int64 // l.mono() when the current write chunk began; 0 when not writing
	once    sync.Once
}

// NetConn returns the connection underneath.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// Close closes the connection and frees its slot.
func (c *Conn) Close() error {
	c.once.Do(func() { c.l.drop(c) })
	return c.Conn.Close()
}

// Write writes b in chunks of at most WriteChunk, each with SendTimeout to
// go out.
func (c *Conn) Write(b []byte) (int, error) {
	var n int
	for len(b) > 0 {
		k := min(len(b), WriteChunk)
		m, err := c.writeChunk(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		b = b[k:]
	}
	return n, nil
}

func (c *Conn) writeChunk(b []byte) (int, error) {
	c.begin()
	n, err := c.Conn.Write(b)
	c.end(err)
	return n, err
}

// begin marks a write starting and arms its deadline.
func (c *Conn) begin() {
	l := c.l
	c.writing.Store(l.mono())
	if l.cfg.SendTimeout > 0 {
		_ = c.Conn.SetWriteDeadline(l.now().Add(l.cfg.SendTimeout))
	}
}

func (c *Conn) end(err error) {
	c.writing.Store(0)
	if err != nil && c.l.cfg.SendTimeout > 0 && os.IsTimeout(err) {
		c.l.timeouts.Add(1)
	}
}

// ReadFrom keeps sendfile(2) for files (net/http hands a file to the
// connection's ReadFrom), a chunk at a time so each gets its deadline.
// Other sources, a socket in a tunnel say, are copied through Write: a
// read that waits on the source is not a write making no progress.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.Conn.(io.ReaderFrom)
	lr, limited := r.(*io.LimitedReader)
	src := r
	if limited {
		src = lr.R
	}
	if _, isFile := src.(*os.File); !ok || !isFile {
		return io.Copy(writerOnly{c}, r)
	}
	remain := int64(-1)
	if limited {
		remain = lr.N
	}
	var total int64
	for remain != 0 {
		chunk := int64(WriteChunk)
		if remain > 0 {
			chunk = min(chunk, remain)
		}
		c.begin()
		n, err := rf.ReadFrom(&io.LimitedReader{R: src, N: chunk})
		c.end(err)
		total += n
		if remain > 0 {
			remain -= n
		}
		if err != nil || n < chunk {
			if limited {
				lr.N = remain
			}
			return total, err
		}
	}
	if limited {
		lr.N = 0
	}
	return total, nil
}

type writerOnly struct{ io.Writer }

// CloseWrite passes the half-close through: net/http uses it to let an
// error response reach the client before the connection closes (no RST).
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// list is an intrusive doubly linked list of connections.
type list struct {
	head, tail *Conn
	len        int
}

func (q *list) pushBack(c *Conn) {
	c.prev, c.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = c
	} else {
		q.head = c
	}
	q.tail = c
	q.len++
}

func (q *list) remove(c *Conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		q.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		q.tail = c.prev
	}
	c.prev, c.next = nil, nil
	q.len--
}
