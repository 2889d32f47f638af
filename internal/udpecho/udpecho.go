// Package udpecho is socklab's UDP echo and QoS reflector. Every datagram
// goes back to its sender unchanged; a datagram that starts with a valid
// socklab QoS probe header (internal/qoswire) goes back stamped in place with
// the reflector's receive and send times and its per-session receive count.
// A reply is never larger than its request, each session and each source
// address is held to a packet rate, and every table is bounded, so the
// service is no use as a flood amplifier. Nor can it be set ping-ponging
// with another reflector: it never answers a datagram that is itself a
// reply, nor a source port where a reflector listens (see
// Config.LoopPorts). What the rate caps drop is counted per session and
// told to the sender on request (a qoswire report), so a QoS test shows it
// as the reflector's limit, never as path loss.
package udpecho

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/qoswire"
)

// Defaults used when the matching Config field is zero. At 1,400-byte
// probes DefaultMaxPPS is about 1.1 Gbit/s per stream and
// DefaultMaxSourcePPS about 2.8 Gbit/s toward one address: far above what a
// test from one host asks of a shared lab service, and a cap on what a
// spoofed source could make the reflector send to a victim (never more than
// it received, since replies are never larger than requests).
const (
	DefaultMaxPPS       = 100_000
	DefaultMaxSourcePPS = 250_000
	DefaultMaxSources   = 65536
	DefaultMaxSessions  = 65536
)

// DefaultLoopPorts are the source ports answered by nobody: socklab's
// default reflector port (serve --udp) and relay port (proxy --udp), from
// which only replies ever come, never requests.
var DefaultLoopPorts = []uint16{9000, 9090}

// Config describes a reflector. The zero value echoes with the defaults above.
type Config struct {
	// MaxPPS caps the datagrams per second answered for one session: a
	// probe stream (source address, port and qoswire session), or for plain
	// data a source address and port. A token bucket with one second of
	// burst; the rest are dropped and counted, per session for probes.
	// Zero means DefaultMaxPPS; negative means no cap.
	MaxPPS int
	// MaxSourcePPS caps the datagrams per second answered for one source
	// address, all its sessions together: the anti-reflection limit. Zero
	// means DefaultMaxSourcePPS; negative means no cap.
	MaxSourcePPS int
	// MaxSources bounds the per-source rate table (least recently seen
	// sources are forgotten first). Zero means DefaultMaxSources.
	MaxSources int
	// MaxSessions bounds the per-(source, session) probe counters. Zero
	// means DefaultMaxSessions.
	MaxSessions int

	// LoopPorts are source ports never answered, besides port 0 and the
	// well-known UDP services (echo, DNS, NTP, …) that are never answered
	// either: the ports other reflectors and relays listen on. A datagram
	// from one is a reply or a reflection, and answering it would start a
	// loop between the two. The reflector's own port is always included:
	// a peer on the same port is most likely a reflector set up the same
	// way. Nil means DefaultLoopPorts.
	LoopPorts []uint16

	// Workers is how many serving loops serve a socket from Listen, each
	// on its own socket of a SO_REUSEPORT group, so that many streams are
	// not held to one core. Zero means GOMAXPROCS; a socket not from
	// Listen gets one loop.
	Workers int
	// GRO asks the kernel for coalesced receive (UDP_GRO, Linux 5.0): a
	// train of datagrams of one flow in one read, split here by its
	// segment size. Every datagram of a train carries the train's arrival
	// stamp, so the reflector's receive times (upstream jitter and IPDV,
	// the dwell time taken off RTT, one-way jitter) are blurred by the
	// train's spread: nothing on loopback, where a train is one segmented
	// send whose probes left together, up to one NAPI poll on a NIC.
	// Counts, loss and throughput are exact. Off by default; where the
	// kernel refuses, reads go one datagram each as without it.
	GRO bool

	// Logger gets operational messages. Nil discards them.
	Logger *slog.Logger
	// Registerer, if non-nil, gets the reflector's Prometheus metrics.
	Registerer prometheus.Registerer
	// Now is the clock used for rate limiting and for the reflector stamps.
	// Nil means time.Now, with the kernel's arrival time as the receive
	// stamp where the platform offers it.
	Now func() time.Time
	// Trace, if non-nil, is called from the serving goroutine after each
	// datagram with what was done with it.
	Trace func(Event)
}

// Verdict says what the reflector did with a datagram.
type Verdict int

// What the reflector does with a datagram.
const (
	Echoed       Verdict = iota // plain data, sent back unchanged
	Reflected                   // a QoS probe, stamped and sent back
	Malformed                   // starts like a probe but is not a valid one; echoed as plain data
	DroppedRate                 // over the session's or the source's packet rate
	DroppedPort                 // from port 0, a well-known UDP service port or a loop port (loop guard)
	DroppedReply                // a probe that is itself a reply (loop guard)
	Reported                    // a report request, answered with the session's counts
	Counted                     // a one-way probe: counted and timed, not answered
)

func (v Verdict) String() string {
	switch v {
	case Echoed:
		return "echoed"
	case Reflected:
		return "reflected"
	case Malformed:
		return "malformed"
	case DroppedRate:
		return "dropped_rate"
	case DroppedPort:
		return "dropped_port"
	case DroppedReply:
		return "dropped_reply"
	case Reported:
		return "reported"
	case Counted:
		return "counted"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// Event describes one datagram, for Config.Trace.
type Event struct {
	From    netip.AddrPort
	Len     int
	Verdict Verdict
}

// Stats are the reflector's running totals.
type Stats struct {
	Received    uint64 `json:"received"`
	Echoed      uint64 `json:"echoed"`
	Reflected   uint64 `json:"reflected"`
	Malformed   uint64 `json:"malformed"`
	DroppedRate uint64 `json:"dropped_rate"`
	DroppedPort uint64 `json:"dropped_port"`
	// DroppedReply counts probes that already had the reply flag: another
	// reflector's answer, never answered in turn.
	DroppedReply uint64 `json:"dropped_reply"`
	Reported     uint64 `json:"reported"`
	Counted      uint64 `json:"counted"`  // one-way probes, counted and not answered
	RxDrops      uint64 `json:"rx_drops"` // dropped by the socket (receive queue full), where the kernel reports it
	// GROTrains counts the coalesced reads (Config.GRO) split into datagrams.
	GROTrains uint64 `json:"gro_trains"`
	// GSOSends counts the runs of answers sent as one segmented send.
	GSOSends uint64 `json:"gso_sends"`
	// Workers is how many serving loops (sockets) are running.
	Workers  int    `json:"workers"`
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
}

// Server is a configured reflector.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	rate    float64 // per session
	srcRate float64 // per source address

	loopPorts []uint16 // Config.LoopPorts, then the serving socket's port

	// srcMu guards sources: every serving loop holds an address to one
	// cap. A loop takes it once per batch.
	srcMu   sync.Mutex
	sources *lru[netip.Addr, bucket]
	main    *shard // the first serving loop's state

	groupMu sync.Mutex
	groups  map[*net.UDPConn][]*net.UDPConn // sockets Listen bound beside each it returned

	counts     [numVerdicts]atomic.Uint64 // by Verdict
	rxDropsOut atomic.Uint64              // the sockets' drops, for Stats
	groTrains  atomic.Uint64              // coalesced reads (UDP_GRO) split into datagrams
	gsoSends   atomic.Uint64              // segmented sends (UDP_SEGMENT) of answers
	loops      atomic.Int32               // serving loops running
	bytesIn    atomic.Uint64
	bytesOut   atomic.Uint64
	metrics    *metrics
}

// shard is one serving loop's own state. With several sockets in a
// SO_REUSEPORT group (Config.Workers) the kernel keeps each flow on one
// socket, so a session's counters live in one loop and need no lock.
type shard struct {
	s        *Server
	rxDrops  uint64 // the socket's drop count (SO_RXQ_OVFL) as last reported
	sessions *lru[sessionKey, session]
}

func (s *Server) newShard(maxSessions int) *shard {
	return &shard{s: s, sessions: newLRU[sessionKey, session](maxSessions)}
}

// numVerdicts sizes the per-verdict counters.
const numVerdicts = int(Counted) + 1

type sessionKey struct {
	src     netip.AddrPort
	session uint64
	plain   bool // plain echo data from src, not a probe session
}

// session is what the reflector keeps per session: its rate bucket and the
// counts a report tells the sender.
type session struct {
	bucket      bucket
	received    uint64 // probes that arrived, dropped ones included
	dropped     uint64 // of those, dropped by a rate cap
	bytes       uint64
	first, last int64  // Unix ns of the first and last arrival
	dropsAt     uint64 // the socket's drop count at the first arrival
	// One-way probes: RFC 3550 jitter (ns) over transit = arrival − send
	// wall stamp; the clocks' offset cancels in the differences.
	jitter      float64
	lastTransit int64
}

// New checks cfg and registers metrics.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxPPS == 0 {
		cfg.MaxPPS = DefaultMaxPPS
	}
	if cfg.MaxSourcePPS == 0 {
		cfg.MaxSourcePPS = DefaultMaxSourcePPS
	}
	if cfg.MaxSources <= 0 {
		cfg.MaxSources = DefaultMaxSources
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Now,
		rate:    float64(cfg.MaxPPS),
		srcRate: float64(cfg.MaxSourcePPS),
		sources: newLRU[netip.Addr, bucket](cfg.MaxSources),
		groups:  make(map[*net.UDPConn][]*net.UDPConn),
	}
	s.main = s.newShard(cfg.MaxSessions)
	s.loopPorts = cfg.LoopPorts
	if s.loopPorts == nil {
		s.loopPorts = DefaultLoopPorts
	}
	s.loopPorts = slices.Clone(s.loopPorts)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Registerer != nil {
		m, err := newMetrics(cfg.Registerer)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	return s, nil
}

// Stats returns the totals so far; safe to call while serving.
func (s *Server) Stats() Stats {
	return Stats{
		Received:     s.total(),
		Echoed:       s.counts[Echoed].Load(),
		Reflected:    s.counts[Reflected].Load(),
		Malformed:    s.counts[Malformed].Load(),
		DroppedRate:  s.counts[DroppedRate].Load(),
		DroppedPort:  s.counts[DroppedPort].Load(),
		DroppedReply: s.counts[DroppedReply].Load(),
		Reported:     s.counts[Reported].Load(),
		Counted:      s.counts[Counted].Load(),
		RxDrops:      s.rxDropsOut.Load(),
		GROTrains:    s.groTrains.Load(),
		GSOSends:     s.gsoSends.Load(),
		Workers:      int(s.loops.Load()),
		BytesIn:      s.bytesIn.Load(),
		BytesOut:     s.bytesOut.Load(),
	}
}

func (s *Server) total() uint64 {
	var n uint64
	for i := range s.counts {
		n += s.counts[i].Load()
	}
	return n
}

// Serve answers datagrams on conn until ctx ends, then closes conn and
// returns nil. Any other read failure is returned.
//
// On 64-bit Linux, with Config.Now nil, a probe's receive stamp is the
// kernel's arrival time for the datagram (SO_TIMESTAMPNS), so the
// reflector's dwell time includes its socket queue. A *net.UDPConn from
// Listen is served by Config.Workers loops, one on each socket of its
// group.
func (s *Server) Serve(ctx context.Context, conn net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if ua, ok := conn.LocalAddr().(*net.UDPAddr); ok && ua.Port != 0 {
		// Set before the first read, which the serving loops own from now.
		s.loopPorts = append(s.loopPorts, uint16(ua.Port))
	}
	if uc, ok := conn.(*net.UDPConn); ok {
		return s.serveGroup(ctx, uc)
	}
	// Any other PacketConn: one datagram at a time, stamped by our clock.
	s.loops.Add(1)
	defer s.loops.Add(-1)
	buf := make([]byte, 64<<10)
	for {
		n, a, err := conn.ReadFrom(buf)
		var from netip.AddrPort
		if ua, ok := a.(*net.UDPAddr); ok {
			from = ua.AddrPort()
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("udp echo read on %s: %w", conn.LocalAddr(), err)
		}
		now := s.now()
		b := buf[:n]
		s.srcMu.Lock()
		v, count := s.main.handle(b, from, now)
		s.srcMu.Unlock()
		s.record(v, n)
		if v == Echoed || v == Reflected || v == Malformed || v == Reported {
			if v == Reflected {
				// Stamp the send time as late as possible.
				_ = qoswire.Reflect(b, now.UnixNano(), s.now().UnixNano(), count)
			}
			if _, werr := conn.WriteTo(b, net.UDPAddrFromAddrPort(from)); werr != nil {
				if ctx.Err() != nil || errors.Is(werr, net.ErrClosed) {
					return nil
				}
				s.log.Debug("udp echo write failed", "to", from, "err", werr)
			} else {
				s.bytesOut.Add(uint64(n))
				if s.metrics != nil {
					s.metrics.bytesOut.Add(float64(n))
				}
			}
		}
		if s.cfg.Trace != nil {
			s.cfg.Trace(Event{From: from, Len: n, Verdict: v})
		}
	}
}

// handle decides what to do with one datagram arriving at now. For a probe
// it advances and returns the session's receive count, for the stamp; a
// report request is answered in place.
func (sh *shard) handle(b []byte, from netip.AddrPort, now time.Time) (Verdict, uint64) {
	s := sh.s
	if blockedPort(from.Port()) || slices.Contains(s.loopPorts, from.Port()) {
		return DroppedPort, 0
	}
	if qoswire.IsReply(b) {
		return DroppedReply, 0
	}
	src := netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if !bytes.HasPrefix(b, probeMagic) {
		st := sh.sessions.get(sessionKey{src: src, plain: true}, newSession)
		if !s.allow(st, src.Addr(), now) {
			return DroppedRate, 0
		}
		return Echoed, 0
	}
	id, err := qoswire.SessionOf(b)
	if err != nil {
		st := sh.sessions.get(sessionKey{src: src, plain: true}, newSession)
		if !s.allow(st, src.Addr(), now) {
			return DroppedRate, 0
		}
		return Malformed, 0
	}
	st := sh.sessions.get(sessionKey{src: src, session: id}, newSession)
	if qoswire.IsReportRequest(b) {
		// Reports are rare (one per stream at the end) and no larger than
		// the request; they still count against the source's rate.
		if s.cfg.MaxSourcePPS > 0 && !s.sources.get(src.Addr(), newBucket).allow(now, s.srcRate, s.srcRate) {
			return DroppedRate, 0
		}
		rep := qoswire.Report{Received: st.received, DroppedRate: st.dropped, Bytes: st.bytes,
			FirstRecv: st.first, LastRecv: st.last, Jitter: int64(st.jitter)}
		if st.received > 0 {
			rep.SocketDrops = sh.rxDrops - st.dropsAt
		}
		_ = qoswire.AnswerReport(b, rep)
		return Reported, 0
	}
	st.received++
	st.bytes += uint64(len(b))
	ns := now.UnixNano()
	if st.first == 0 {
		st.first, st.dropsAt = ns, sh.rxDrops
	}
	st.last = ns
	if !s.allow(st, src.Addr(), now) {
		st.dropped++
		return DroppedRate, 0
	}
	if b[5]&qoswire.FlagOneWay != 0 {
		st.noteTransit(ns - int64(binary.BigEndian.Uint64(b[32:40])))
		return Counted, st.received
	}
	// The count includes probes the cap dropped: they did arrive, so the
	// sender's upstream/downstream split stays right, and the report says
	// how many of them the reflector dropped.
	return Reflected, st.received
}

// noteTransit folds one one-way probe's transit time into the session's
// RFC 3550 §6.4.1 jitter: J += (|D| − J)/16.
func (st *session) noteTransit(transit int64) {
	if st.received > 1 {
		d := float64(transit - st.lastTransit)
		if d < 0 {
			d = -d
		}
		st.jitter += (d - st.jitter) / 16
	}
	st.lastTransit = transit
}

// noteRxDrops takes the kernel's cumulative 32-bit drop count, which wraps.
func (sh *shard) noteRxDrops(d uint32) {
	delta := uint64(d - uint32(sh.rxDrops))
	sh.rxDrops += delta
	sh.s.rxDropsOut.Add(delta)
}

// allow applies the session's cap, then the source address's.
func (s *Server) allow(st *session, addr netip.Addr, now time.Time) bool {
	if s.cfg.MaxPPS > 0 && !st.bucket.allow(now, s.rate, s.rate) {
		return false
	}
	if s.cfg.MaxSourcePPS > 0 && !s.sources.get(addr, newBucket).allow(now, s.srcRate, s.srcRate) {
		return false
	}
	return true
}

func newSession() session { return session{} }
func newBucket() bucket   { return bucket{} }

// probeMagic is how a probe begins; anything else is plain data.
var probeMagic = []byte("SKLQ")

// blockedPort refuses source port 0 and the ports of well-known UDP services
// that answer anything they get (echo, chargen, DNS, NTP, …): echoing to
// them could start an endless loop between two reflectors (the "Loop DoS"
// of CVE-2024-2169).
func blockedPort(p uint16) bool {
	switch p {
	case 0, 7, 13, 17, 19, 37, 53, 69, 111, 123, 137, 161, 389, 1900, 5353, 11211:
		return true
	}
	return false
}

func (s *Server) record(v Verdict, n int) {
	s.counts[v].Add(1)
	s.bytesIn.Add(uint64(n))
	if s.metrics != nil {
		s.metrics.datagrams[v].Inc()
		s.metrics.bytesIn.Add(float64(n))
	}
}
