// Package udprelay relays UDP datagrams between clients and one upstream
// address: each client address gets a session with its own upstream socket,
// so replies return to the client that asked, with many clients at once.
// Sessions expire when idle and the table is bounded, so a flood of spoofed
// source addresses cannot grow memory past the bound; when it is full, a
// new client takes the place of the oldest session that has not held a
// conversation (see Config.MaxSessions), so such a flood cannot lock real
// clients out either. The relay can impair
// traffic on purpose (internal/impair decides each datagram's fate; a
// sub-millisecond scheduler sends delayed ones on time). On Linux the
// unimpaired path moves datagrams in batches (recvmmsg, sendmmsg, UDP
// segmentation offload) without allocating, so one client at 100k
// datagrams/s passes without loss on two cores (bench/relay.sh).
package udprelay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/impair"
	"github.com/socklab/socklab/internal/impair/sched"
)

// MaxDatagram is the largest UDP payload over IPv4 (65535 − 8 − 20); IPv6
// allows 65527, and the buffers hold either.
const MaxDatagram = 65507

const bufSize = 65536

// Config configures a Relay.
type Config struct {
	// Upstream is where datagrams go ("host:port"). Empty means
	// "127.0.0.1:9000", the UDP port of "socklab serve".
	Upstream string
	// IdleTimeout ends a session after this long without traffic either
	// way. 0 means 60 s.
	IdleTimeout time.Duration
	// MaxSessions bounds the session table. When it is full, a new client
	// evicts the oldest session that is not yet established, and only when
	// every session is established are its datagrams dropped and counted.
	// A session is established once its client has sent again after a
	// reply came back: a two-way conversation, which a spoofed source
	// cannot hold because it never sees the reply (the rule Linux
	// conntrack's "assured" UDP entries follow, evicted last under
	// pressure). 0 means 10000.
	MaxSessions int
	// Impair is the impairment applied per datagram; the zero value
	// impairs nothing.
	Impair impair.Config
	// MaxQueued bounds the datagrams held back by the impairment (delay,
	// rate) across both directions; beyond it they are dropped as queue
	// overflow. 0 means 65536 datagrams; MaxQueuedBytes (0 = 64 MiB)
	// bounds their bytes.
	MaxQueued      int
	MaxQueuedBytes int64
	// SocketBuffer is the kernel receive buffer asked for the listening
	// socket and each session's (the system caps it, net.core.rmem_max on
	// Linux; the relay logs a warning once when it got less). 0 means 4 MiB.
	SocketBuffer int
	// Logger receives session and error events; nil discards them.
	Logger *slog.Logger
	// Registerer, if set, gets the relay's Prometheus metrics.
	Registerer prometheus.Registerer
	// OnSession, if set, is called when a session opens (open true) or ends.
	OnSession func(client netip.AddrPort, open bool)

	now func() time.Time // tests inject a clock
}

// Relay is a UDP relay. Create it with New and run it with Serve.
type Relay struct {
	cfg      Config
	log      *slog.Logger
	upstream *net.UDPAddr
	now      func() time.Time

	listen *net.UDPConn // set by Serve
	lio    listenIO     // listen's batched I/O

	mu        sync.Mutex
	sessions  map[netip.AddrPort]*session
	probation sessionList // sessions not established yet, oldest first
	closed    bool
	wg        sync.WaitGroup // session readers

	upMu, downMu     sync.Mutex
	upLink, downLink *impair.Link
	sched            *sched.Scheduler[delayed]
	queuedBytes      atomic.Int64
	bufWarned        atomic.Bool // the socket buffer warning was logged

	c counters
}

type session struct {
	client netip.AddrPort
	conn   *net.UDPConn // connected to the upstream
	sio    sessionIO    // conn's batched I/O, and the client's address for it
	last   atomic.Int64 // unix nanoseconds of the last datagram either way

	replied     atomic.Bool // a reply has come back from the upstream
	established atomic.Bool // and the client has sent since (set under Relay.mu)
	prev, next  *session    // in Relay.probation while not established; Relay.mu
}

// delayed is a datagram held by the impairment scheduler.
type delayed struct {
	s   *session
	up  bool
	buf []byte
}

// New checks cfg and returns a relay, registering its metrics.
func New(cfg Config) (*Relay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Upstream == "" {
		cfg.Upstream = "127.0.0.1:9000"
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10000
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 65536
	}
	if cfg.MaxQueuedBytes <= 0 {
		cfg.MaxQueuedBytes = 64 << 20
	}
	if cfg.SocketBuffer <= 0 {
		cfg.SocketBuffer = 4 << 20
	}
	up, err := net.ResolveUDPAddr("udp", cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("udp upstream %s: %w", cfg.Upstream, err)
	}
	r := &Relay{
		cfg:      cfg,
		log:      cfg.Logger,
		upstream: up,
		now:      cfg.now,
		sessions: make(map[netip.AddrPort]*session),
		upLink:   impair.NewLink(cfg.Impair, impair.Up),
		downLink: impair.NewLink(cfg.Impair, impair.Down),
	}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.sched = sched.New(r.fire, cfg.MaxQueued)
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(collector{r}); err != nil {
			return nil, fmt.Errorf("udp relay metrics: %w", err)
		}
	}
	return r, nil
}

// Serve relays datagrams arriving on conn until ctx ends, then closes conn
// and every session and returns nil. Datagrams held back by the impairment
// when it ends are dropped.
func (r *Relay) Serve(ctx context.Context, conn *net.UDPConn) error {
	if err := r.attach(conn); err != nil {
		conn.Close()
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var bg sync.WaitGroup
	schedCtx, cancelSched := context.WithCancel(context.Background())
	bg.Go(func() { r.sched.Run(schedCtx) })
	bg.Go(func() { r.janitor(schedCtx) })

	err := r.readClients()

	conn.Close()
	cancelSched()
	bg.Wait()
	r.closeAll()
	r.wg.Wait()
	if ctx.Err() != nil && errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// attach makes conn the socket clients send to.
func (r *Relay) attach(conn *net.UDPConn) error {
	lio, err := newListenIO(conn)
	if err != nil {
		return fmt.Errorf("udp relay %s: %w", conn.LocalAddr(), err)
	}
	r.listen, r.lio = conn, lio
	r.setBuffers(conn, "listening", true)
	return nil
}

// handleUp forwards one datagram from a client. It returns the session to
// send p on when the caller should send it straight away (no impairment
// upstream), nil when it is taken care of (refused, dropped, scheduled).
func (r *Relay) handleUp(from netip.AddrPort, p []byte) *session {
	r.c.up.packets.Add(1)
	r.c.up.bytes.Add(uint64(len(p)))
	s := r.session(from)
	if s == nil {
		// Log the 1st, 2nd, 4th, 8th... refusal: a flood of new sources
		// must not flood the log too.
		if n := r.c.up.refused.Add(1); n&(n-1) == 0 {
			r.log.Warn("udp relay refused a new client", "client", from.String(), "sessions", r.Sessions(), "max_sessions", r.cfg.MaxSessions, "refused_total", n)
		}
		return nil
	}
	s.last.Store(r.now().UnixNano())
	if !s.established.Load() && s.replied.Load() {
		r.establish(s)
	}
	if !r.upLink.Active() {
		return s
	}
	r.forward(s, true, p)
	return nil
}

// session returns from's session, opening one if the table has room.
func (r *Relay) session(from netip.AddrPort) *session {
	s, opened, evicted := r.lookup(from)
	if r.cfg.OnSession != nil {
		if evicted != nil {
			r.cfg.OnSession(evicted.client, false)
		}
		if opened {
			r.cfg.OnSession(from, true)
		}
	}
	return s
}

// lookup finds or opens from's session; evicted is the session it ended to
// make room, if any.
func (r *Relay) lookup(from netip.AddrPort) (s *session, opened bool, evicted *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.sessions[from]; s != nil {
		return s, false, nil
	}
	if r.closed {
		return nil, false, nil
	}
	if len(r.sessions) >= r.cfg.MaxSessions {
		if evicted = r.evictLocked(); evicted == nil {
			return nil, false, nil
		}
	}
	s = r.open(from)
	return s, s != nil, evicted
}

// evictLocked ends the oldest session not established, to make room, and
// returns it; nil when every session is established. r.mu is held;
// closing the session's socket ends its reader.
func (r *Relay) evictLocked() *session {
	v := r.probation.head
	if v == nil {
		return nil
	}
	r.probation.remove(v)
	delete(r.sessions, v.client)
	v.conn.Close()
	r.c.evicted.Add(1)
	r.log.Debug("udp session evicted", "client", v.client.String())
	return v
}

// establish moves s out of probation: its client spoke after a reply.
func (r *Relay) establish(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.established.Load() || r.sessions[s.client] != s {
		return
	}
	s.established.Store(true)
	r.probation.remove(s)
}

// open opens a session for from; r.mu is held. It is apart from lookup so
// that the session its reader goroutine captures is allocated only here,
// not on every lookup.
func (r *Relay) open(from netip.AddrPort) *session {
	conn, err := net.DialUDP("udp", nil, r.upstream)
	if err != nil {
		r.log.Debug("udp relay session", "client", from.String(), "upstream", r.upstream.String(), "err", err)
		return nil
	}
	r.setBuffers(conn, "session", false) // the kernel charges only what queues
	sio, err := r.newSessionIO(conn, from)
	if err != nil {
		conn.Close()
		r.log.Debug("udp relay session", "client", from.String(), "err", err)
		return nil
	}
	s := &session{client: from, conn: conn, sio: sio}
	s.last.Store(r.now().UnixNano())
	r.sessions[from] = s
	r.probation.pushBack(s)
	r.c.opened.Add(1)
	r.wg.Go(func() { r.readUpstream(s) })
	r.log.Debug("udp session open", "client", from.String(), "local", conn.LocalAddr().String())
	return s
}

// handleDown forwards one reply from the upstream to s's client.
func (r *Relay) handleDown(s *session, p []byte) {
	r.c.down.packets.Add(1)
	r.c.down.bytes.Add(uint64(len(p)))
	s.last.Store(r.now().UnixNano())
	s.markReplied()
	r.forward(s, false, p)
}

// forward sends p (which the caller reuses) one way, through the
// impairment when that direction has any.
func (r *Relay) forward(s *session, up bool, p []byte) {
	link, mu, c := r.downLink, &r.downMu, &r.c.down
	if up {
		link, mu, c = r.upLink, &r.upMu, &r.c.up
	}
	if !link.Active() {
		r.send(s, up, p)
		return
	}
	mu.Lock()
	f := link.Decide(r.now(), len(p))
	mu.Unlock()
	switch {
	case f.Lost:
		c.lost.Add(1)
		return
	case f.Overflow > 0:
		c.overflow.Add(uint64(f.Overflow))
	}
	if f.Duplicated {
		c.duplicated.Add(1)
	}
	if f.Reordered {
		c.reordered.Add(1)
	}
	for i := range f.Copies {
		b := make([]byte, len(p))
		copy(b, p)
		if i == 0 && f.FlipBit >= 0 {
			b[f.FlipBit/8] ^= 0x80 >> (f.FlipBit % 8)
			c.corrupted.Add(1)
		}
		if r.queuedBytes.Add(int64(len(b))) > r.cfg.MaxQueuedBytes || !r.sched.Add(f.Due[i], delayed{s: s, up: up, buf: b}) {
			r.queuedBytes.Add(-int64(len(b)))
			c.overflow.Add(1)
		}
	}
}

// fire sends a datagram whose due time has come.
func (r *Relay) fire(d delayed) {
	r.queuedBytes.Add(-int64(len(d.buf)))
	r.send(d.s, d.up, d.buf)
}

func (r *Relay) send(s *session, up bool, p []byte) {
	var err error
	c := &r.c.down
	if up {
		c = &r.c.up
		_, err = s.conn.Write(p)
	} else {
		_, err = r.listen.WriteToUDPAddrPort(p, s.client)
	}
	if err != nil {
		// Upstream not listening (ICMP port unreachable), session just
		// expired, buffer full: this datagram is lost, the relay goes on.
		c.errors.Add(1)
		r.log.Debug("udp relay send", "client", s.client.String(), "up", up, "err", err)
		return
	}
	c.sent.Add(1)
	c.sentBytes.Add(uint64(len(p)))
}

// janitor expires idle sessions until ctx ends.
func (r *Relay) janitor(ctx context.Context) {
	tick := min(max(r.cfg.IdleTimeout/4, time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.expire(r.now())
		}
	}
}

// expire ends the sessions idle for longer than the timeout at now.
func (r *Relay) expire(now time.Time) {
	cutoff := now.Add(-r.cfg.IdleTimeout).UnixNano()
	var gone []*session
	r.mu.Lock()
	for k, s := range r.sessions {
		if s.last.Load() < cutoff {
			delete(r.sessions, k)
			if !s.established.Load() {
				r.probation.remove(s)
			}
			gone = append(gone, s)
		}
	}
	r.mu.Unlock()
	for _, s := range gone {
		s.conn.Close()
		r.c.expired.Add(1)
		r.log.Debug("udp session expired", "client", s.client.String())
		if r.cfg.OnSession != nil {
			r.cfg.OnSession(s.client, false)
		}
	}
}

func (r *Relay) closeAll() {
	r.mu.Lock()
	r.closed = true
	all := r.sessions
	r.sessions = make(map[netip.AddrPort]*session)
	r.probation = sessionList{}
	r.mu.Unlock()
	for _, s := range all {
		s.conn.Close()
		if r.cfg.OnSession != nil {
			r.cfg.OnSession(s.client, false)
		}
	}
}

// Sessions returns the number of live sessions.
func (r *Relay) Sessions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// markReplied notes that a reply came back for s (one atomic load per
// datagram once it is set).
func (s *session) markReplied() {
	if !s.replied.Load() {
		s.replied.Store(true)
	}
}

// sessionList is an intrusive doubly linked list of sessions: O(1) to add,
// remove and find the oldest, with no allocation.
type sessionList struct{ head, tail *session }

func (q *sessionList) pushBack(s *session) {
	s.prev, s.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = s
	} else {
		q.head = s
	}
	q.tail = s
}

func (q *sessionList) remove(s *session) {
	if s.prev != nil {
		s.prev.next = s.next
	} else if q.head == s {
		q.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else if q.tail == s {
		q.tail = s.prev
	}
	s.prev, s.next = nil, nil
}
