// Package udpecho is socklab's UDP echo and QoS reflector. Every datagram
// goes back to its sender unchanged; a datagram that starts with a valid
// socklab QoS probe header (internal/qoswire) goes back stamped in place with
// the reflector's receive and send times and its per-session receive count.
// A reply is never larger than its request, each source is held to a packet
// rate, and every table is bounded, so the service is no use as a flood
// amplifier. Nor can it be set ping-ponging with another reflector: it never
// answers a datagram that is itself a reply, nor a source port where a
// reflector listens (see Config.LoopPorts).
package udpecho

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/qoswire"
)

// Defaults used when the matching Config field is zero.
const (
	DefaultMaxPPS      = 10000
	DefaultMaxSources  = 65536
	DefaultMaxSessions = 65536
)

// DefaultLoopPorts are the source ports answered by nobody: socklab's
// default reflector port (serve --udp) and relay port (proxy --udp), from
// which only replies ever come, never requests.
var DefaultLoopPorts = []uint16{9000, 9090}

// Config describes a reflector. The zero value echoes with the defaults above.
type Config struct {
	// MaxPPS caps the datagrams per second answered for one source address
	// (a token bucket with one second of burst); the rest are dropped and
	// counted. Zero means DefaultMaxPPS; negative means no cap.
	MaxPPS int
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
	DroppedRate                 // over the source's packet rate
	DroppedPort                 // from port 0, a well-known UDP service port or a loop port (loop guard)
	DroppedReply                // a probe that is itself a reply (loop guard)
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
	BytesIn      uint64 `json:"bytes_in"`
	BytesOut     uint64 `json:"bytes_out"`
}

// Server is a configured reflector.
type Server struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	rate float64

	loopPorts []uint16 // Config.LoopPorts, then the serving socket's port

	// Owned by the serving loop.
	sources  *lru[netip.Addr, bucket]
	sessions *lru[sessionKey, uint64]

	counts   [6]atomic.Uint64 // by Verdict
	bytesIn  atomic.Uint64
	bytesOut atomic.Uint64
	metrics  *metrics
}

type sessionKey struct {
	src     netip.AddrPort
	session uint64
}

// New checks cfg and registers metrics.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxPPS == 0 {
		cfg.MaxPPS = DefaultMaxPPS
	}
	if cfg.MaxSources <= 0 {
		cfg.MaxSources = DefaultMaxSources
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		now:      cfg.Now,
		rate:     float64(cfg.MaxPPS),
		sources:  newLRU[netip.Addr, bucket](cfg.MaxSources),
		sessions: newLRU[sessionKey, uint64](cfg.MaxSessions),
	}
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
// reflector's dwell time includes its socket queue.
func (s *Server) Serve(ctx context.Context, conn net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if ua, ok := conn.LocalAddr().(*net.UDPAddr); ok && ua.Port != 0 {
		// Set before the first read, which the serving loop owns from now.
		s.loopPorts = append(s.loopPorts, uint16(ua.Port))
	}
	uc, fast := conn.(*net.UDPConn)
	kernelTime := fast && s.cfg.Now == nil && rxTimestamps(uc)
	buf := make([]byte, 64<<10)
	oob := make([]byte, oobSize)
	for {
		var (
			n, oobn int
			from    netip.AddrPort
			err     error
		)
		switch {
		case kernelTime:
			n, oobn, _, from, err = uc.ReadMsgUDPAddrPort(buf, oob)
		case fast:
			n, from, err = uc.ReadFromUDPAddrPort(buf)
		default:
			var a net.Addr
			n, a, err = conn.ReadFrom(buf)
			if ua, ok := a.(*net.UDPAddr); ok {
				from = ua.AddrPort()
			}
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("udp echo read on %s: %w", conn.LocalAddr(), err)
		}
		now := s.now()
		b := buf[:n]
		v, count := s.handle(b, from, now)
		s.record(v, n)
		if v == Echoed || v == Reflected || v == Malformed {
			if v == Reflected {
				recv := now
				if kernelTime {
					if t, ok := parseRxTime(oob[:oobn]); ok && !t.After(now) {
						recv = t
					}
				}
				// Stamp the send time as late as possible.
				_ = qoswire.Reflect(b, recv.UnixNano(), s.now().UnixNano(), count)
			}
			var werr error
			if fast {
				_, werr = uc.WriteToUDPAddrPort(b, from)
			} else {
				_, werr = conn.WriteTo(b, net.UDPAddrFromAddrPort(from))
			}
			if werr != nil {
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
// it advances and returns the session's receive count, for the stamp.
func (s *Server) handle(b []byte, from netip.AddrPort, now time.Time) (Verdict, uint64) {
	if blockedPort(from.Port()) || slices.Contains(s.loopPorts, from.Port()) {
		return DroppedPort, 0
	}
	if qoswire.IsReply(b) {
		return DroppedReply, 0
	}
	if s.cfg.MaxPPS > 0 {
		bk := s.sources.get(from.Addr().Unmap(), func() bucket { return bucket{} })
		if !bk.allow(now, s.rate, s.rate) {
			return DroppedRate, 0
		}
	}
	if !bytes.HasPrefix(b, probeMagic) {
		return Echoed, 0
	}
	session, err := qoswire.SessionOf(b)
	if err != nil {
		return Malformed, 0
	}
	key := sessionKey{src: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), session: session}
	c := s.sessions.get(key, func() uint64 { return 0 })
	*c++
	return Reflected, *c
}

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
