// Package connlimit caps the connections an HTTP server holds and closes
// the ones that make no write progress. It owns one thing: a net.Listener
// wrapper that admits at most Max connections and, at the cap, closes the
// connection that is doing the least with its slot — the one idle the
// longest (a keep-alive between requests, or a client that has not finished
// its first request headers: a slowloris), else one stuck in a write (a
// client that does not read) — and refuses the newcomer only when every
// slot is in real use. Both socklab serve and socklab proxy use it.
//
// At the cap a newcomer only takes another's place if it has already sent
// a whole first message (a request head, or a TLS ClientHello record; or a
// full segment of one, see FirstMessage): the
// listener peeks at its socket (MSG_PEEK, no read) before handing it to
// the server. One that has not (unless a keep-alive sits idle to make
// room) waits: the accept loop keeps its socket in a bounded FIFO waiting
// room, with no goroutine, buffer or timer, and hands it to the server
// when a slot frees, oldest first; it is closed (shed) when it has waited
// WaitTimeout, or when the room overflows, oldest first. Among clients
// that have not finished a request, the one already holding a slot keeps
// it. Closing such a newcomer at once, as this package did before, fed the
// attack it meant to starve: a reconnecting slowloris larger than the cap
// reconnected as fast as it was closed, about 500 attackers sat in the
// accept queue ahead of any normal client, and each cost the server 44 µs
// of CPU for its accept, peek and close (issue 13: 11,800 reconnects a
// second, a normal client's p99 of 104 ms on a quiet machine). Held, an
// attacker costs one accept per WaitTimeout, and the accept queue is
// empty when a normal client arrives. With DeferAccept, connections that
// send nothing do not even reach accept.
//
// The waiting room is on Linux, where the listener takes connections
// straight from its socket (accept4, MSG_PEEK). Elsewhere, or on a
// listener that is not TCP, a newcomer that has not sent a whole first
// message is closed at once at the cap (shed); where its socket cannot be
// peeked at (off Linux) every newcomer counts as whole, so at the cap each
// one takes the place of the connection idle the longest, as before
// peeking existed, and only a cap of busy connections refuses anyone.
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
	"syscall"
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
	// PeekBytes is how much of a newcomer's first bytes is looked at, at
	// the cap: a request head longer than this is refused (431) anyway.
	PeekBytes = 64 << 10
	// DefaultWaitTimeout is how long a newcomer waits at the cap when
	// Config.WaitTimeout is zero: serve's default --read-header-timeout.
	DefaultWaitTimeout = 10 * time.Second
	// fdReserve is the descriptors the waiting room leaves to the rest of
	// the process (listeners, log files, the poller, name lookups) beyond
	// two per held connection (its socket and a file or upstream socket).
	fdReserve = 256
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
	// Complete reports whether the bytes a newcomer sent before it was
	// accepted (up to PeekBytes) make a whole first message, which may
	// take a slot at the cap. Nil: FirstMessage.
	Complete func(b []byte) bool
	// MaxWaiting bounds the waiting room: how many newcomers that have not
	// sent a whole first message are held at the cap, waiting for a slot.
	// Zero: Max. Negative: none (each is closed at once). It is further
	// cut so that the process's descriptors (RLIMIT_NOFILE) cover two per
	// held connection, one per waiter and a reserve of 256.
	MaxWaiting int
	// WaitTimeout is how long a newcomer waits in the room, from its
	// accept: the server's header timeout. Zero: DefaultWaitTimeout.
	WaitTimeout time.Duration
	// Hooks, each optional, called without the limiter's lock held.
	OnOpen   func()             // a connection was admitted
	OnClose  func()             // an admitted connection ended (evicted included)
	OnEvict  func(stalled bool) // a connection was closed to make room
	OnRefuse func()             // a newcomer with a whole first message was closed: every slot busy
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

	mu    sync.Mutex
	n     int
	fresh list // Fresh (no whole request yet), oldest first
	idle  list // Idle keep-alives, oldest first
	busy  list // Busy, in CLOCK order

	wakers []func() // one per listener with a waiting room; l.mu

	evicted, refused, shed, timeouts atomic.Uint64
	promoted, accepts                atomic.Uint64 // accepts: every accepted socket (tests)
	waiting                          atomic.Int64
	looks                            int // busy connections examined by evictions (tests); l.mu
}

// New returns a limiter for cfg.
func New(cfg Config) *Limiter {
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = DefaultStallAfter
	}
	if cfg.Complete == nil {
		cfg.Complete = FirstMessage
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = DefaultWaitTimeout
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
	Open    int    `json:"open"`
	Evicted uint64 `json:"evicted"`
	// Refused: newcomers with a whole first message closed at the cap
	// because every slot was busy.
	Refused uint64 `json:"refused"`
	// Shed: newcomers without one closed at the cap unserved: after
	// WaitTimeout in the waiting room, when it overflowed, when their
	// client had gone by the time a slot freed, or at once where there is
	// no room.
	Shed uint64 `json:"shed"`
	// Waiting: newcomers held in the waiting room now.
	Waiting int64 `json:"waiting"`
	// Promoted: waiters handed to the server when a slot freed.
	Promoted     uint64 `json:"promoted"`
	SendTimeouts uint64 `json:"send_timeouts"`
}

// Stats returns the figures so far.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	n := l.n
	l.mu.Unlock()
	return Stats{Open: n, Evicted: l.evicted.Load(), Refused: l.refused.Load(), Shed: l.shed.Load(),
		Waiting: l.waiting.Load(), Promoted: l.promoted.Load(), SendTimeouts: l.timeouts.Load()}
}

// Open reports how many connections are held.
func (l *Limiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Listen wraps ln: its Accept admits connections under the cap. When ln
// is a *net.TCPListener, or wraps one through Layers, the wrapper sets
// TCP_DEFER_ACCEPT on it (see DeferAccept) and, at the cap, takes
// connections straight from its socket: a shed one costs accept4, a peek
// and close(2), without the descriptor set-up (poller registration,
// keep-alive and no-delay options, addresses) a net.Conn needs; only the
// admitted ones are made into net.Conns and passed through the Layers'
// WrapConn.
func (l *Limiter) Listen(ln net.Listener) net.Listener {
	w := &listener{Listener: ln, l: l}
	layers, raw := unwrap(ln)
	if raw != nil {
		// Best effort: without it, silent connections are accepted and,
		// at the cap, wait like any unfinished one.
		_ = DeferAccept(raw)
		if rawAccept {
			w.layers, w.raw = layers, raw
			w.room.bound = roomBound(l.cfg)
		}
	}
	return w
}

// A Layer is a listener wrapper the Limiter can see through: Unwrap is
// the listener it wraps, and WrapConn does to a connection what its
// Accept does to each one it returns.
type Layer interface {
	net.Listener
	Unwrap() net.Listener
	WrapConn(net.Conn) net.Conn
}

// unwrap follows ln's Layers down to a TCP listener, if there is one.
func unwrap(ln net.Listener) ([]Layer, *net.TCPListener) {
	var layers []Layer
	for range 8 {
		switch v := ln.(type) {
		case *net.TCPListener:
			return layers, v
		case Layer:
			layers = append(layers, v)
			ln = v.Unwrap()
		default:
			return nil, nil
		}
	}
	return nil, nil
}

type listener struct {
	net.Listener
	l      *Limiter
	layers []Layer          // outermost first
	raw    *net.TCPListener // nil: no direct path at the cap

	dupOnce sync.Once       // see waiter
	dup     *os.File        // a duplicate of raw's descriptor
	dupRaw  syscall.RawConn // dup's
	dupErr  error
	closed  atomic.Bool

	mu    sync.Mutex
	room  room        // newcomers waiting at the cap; mu
	woken atomic.Bool // see wake
}

// Close closes the listener, the duplicate of its descriptor that waits
// at the cap (which would keep the socket listening) and the connections
// in the waiting room.
func (ln *listener) Close() error {
	ln.closed.Store(true)
	ln.dupOnce.Do(func() { ln.dupErr = net.ErrClosed }) // no duplicate from now on
	if ln.dup != nil {
		ln.dup.Close()
	}
	ln.closeRoom()
	return ln.Listener.Close()
}

// idleKeepAlive reports whether a keep-alive connection sits idle.
func (l *Limiter) idleKeepAlive() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.idle.head != nil
}

// full reports whether the cap is reached.
func (l *Limiter) full() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg.Max > 0 && l.n >= l.cfg.Max
}

// wrap passes a connection taken straight from the socket through the
// layers, innermost first, as their Accepts would have.
func (ln *listener) wrap(c net.Conn) net.Conn {
	for i := len(ln.layers) - 1; i >= 0; i-- {
		c = ln.layers[i].WrapConn(c)
	}
	return c
}

func (ln *listener) Accept() (net.Conn, error) {
	for {
		if ln.raw != nil && ln.closed.Load() {
			return nil, net.ErrClosed
		}
		if ln.raw != nil && (ln.l.full() || ln.waiters() > 0) {
			c, whole, err := ln.acceptAtCap()
			if err != nil {
				return nil, err
			}
			if c != nil {
				if tc := ln.l.admitAs(ln.wrap(c), whole); tc != nil {
					return tc, nil
				}
				c.Close()
				continue
			}
			// A slot is free: the longest waiter takes it; with none
			// waiting, accept as usual.
			if c := ln.promote(); c != nil {
				return c, nil
			}
			continue
		}
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ln.l.accepts.Add(1)
		if tc := ln.l.admit(c); tc != nil {
			return tc, nil
		}
		c.Close()
	}
}

// waiters reports how many newcomers wait in ln's room.
func (ln *listener) waiters() int {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return ln.room.len()
}

// mono is the limiter clock as nanoseconds since New (never zero after the
// first tick, so zero can mean "not writing").
func (l *Limiter) mono() int64 { return int64(l.now().Sub(l.epoch)) + 1 }

// admit registers c, making room by eviction at the cap; nil when there is
// none. At the cap it first looks at what c has sent (see Complete).
func (l *Limiter) admit(c net.Conn) *Conn {
	l.mu.Lock()
	full := l.cfg.Max > 0 && l.n >= l.cfg.Max
	l.mu.Unlock()
	return l.admitAs(c, !full || l.complete(c))
}

// complete reports whether c has sent a whole first message; true when
// its socket cannot be peeked at (it is then treated as before peeking
// existed: it evicts).
func (l *Limiter) complete(c net.Conn) bool {
	bp := peekBufs.Get().(*[]byte)
	defer peekBufs.Put(bp)
	n, ok := peek(c, *bp)
	return !ok || l.cfg.Complete((*bp)[:n])
}

var peekBufs = sync.Pool{New: func() any { b := make([]byte, PeekBytes); return &b }}

// admitAs registers c; whole says whether it may evict a connection that
// has not finished its own first request (else it may only take an idle
// keep-alive's place).
func (l *Limiter) admitAs(c net.Conn, whole bool) *Conn {
	tc := &Conn{Conn: c, l: l}
	l.mu.Lock()
	var victim *Conn
	var stalled bool
	if l.cfg.Max > 0 && l.n >= l.cfg.Max {
		if whole {
			victim, stalled = l.victimLocked()
		} else {
			victim = l.idle.head
		}
		if victim == nil {
			l.mu.Unlock()
			if !whole {
				l.shed.Add(1)
				return nil
			}
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
	l.pushLocked(tc)
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

// victimLocked picks the connection to close at the cap: the one idle the
// longest (a keep-alive, or one that never finished its first request),
// else the first busy one found stalled in a write within scanBudget
// looks (each one looked at goes to the back: CLOCK), else none.
func (l *Limiter) victimLocked() (*Conn, bool) {
	f, i := l.fresh.head, l.idle.head
	switch {
	case f != nil && (i == nil || f.since <= i.since):
		return f, false
	case i != nil:
		return i, false
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

// listLocked is the list c's state keeps it in, nil for Detached.
func (l *Limiter) listLocked(c *Conn) *list {
	switch c.state {
	case Fresh:
		return &l.fresh
	case Idle:
		return &l.idle
	case Busy:
		return &l.busy
	}
	return nil
}

// pushLocked appends c to its state's list.
func (l *Limiter) pushLocked(c *Conn) {
	if q := l.listLocked(c); q != nil {
		c.since = l.mono()
		q.pushBack(c)
	}
}

// dropLocked forgets c.
func (l *Limiter) dropLocked(c *Conn) {
	if q := l.listLocked(c); q != nil {
		q.remove(c)
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
	var wakers []func()
	if l.waiting.Load() > 0 {
		wakers = l.wakers
	}
	l.mu.Unlock()
	for _, wake := range wakers {
		wake() // a slot is free: the oldest waiter takes it
	}
	if l.cfg.OnClose != nil {
		l.cfg.OnClose()
	}
}

// CloseAll closes every held connection that is not detached: what a
// server does when a graceful shutdown's grace period is over and the
// server itself has no way to (fasthttp). Each connection's server then
// sees its read or write fail and closes it, which frees its slot.
func (l *Limiter) CloseAll() int {
	l.mu.Lock()
	conns := make([]net.Conn, 0, l.idle.len+l.busy.len)
	for _, q := range []*list{&l.idle, &l.busy} {
		for c := q.head; c != nil; c = c.next {
			conns = append(conns, c.Conn)
		}
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
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
	if q := l.listLocked(tc); q != nil {
		q.remove(tc)
	}
	tc.state = s
	l.pushLocked(tc)
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
	since      int64 // l.mono() when it entered its list
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
