package icmp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/icmp/icmpresult"
	"github.com/socklab/socklab/internal/icmp/probe"
)

// EmptyPayload as PingConfig.Size sends echo requests with no data ("-s 0").
const EmptyPayload = -1

// nonceLen is the per-run random prefix of every echo payload. On a datagram
// socket the kernel rewrites the echo id, so the nonce (with the sequence
// number) is what tells our replies from another ping's.
const nonceLen = 8

// PingConfig configures a Pinger. The zero value of every field but Hosts is
// usable.
type PingConfig struct {
	// Hosts to ping, IPv4 and IPv6 mixed; each family shares one socket.
	Hosts []netip.Addr
	// Count is the number of echo requests per host; 0 sends until ctx is
	// cancelled or Deadline passes.
	Count int
	// Interval between rounds of requests; 0 means 1s.
	Interval time.Duration
	// Timeout is how long to wait for replies after the last request
	// (ping -W); 0 means 10s.
	Timeout time.Duration
	// Deadline ends the run this long after it started, whatever Count says
	// (ping -w); 0 means none.
	Deadline time.Duration
	// Size is the number of data bytes after the ICMP header; 0 means 56,
	// EmptyPayload means none.
	Size int
	// TTL is the IPv4 TTL / IPv6 hop limit of requests; 0 is the system default.
	TTL int
	// Device sends and receives through this interface only (iputils'
	// -I); empty means whichever the routing table picks.
	Device string
	// PMTU is ping -M.
	PMTU PMTU
	// Socket picks raw or datagram sockets; SocketAuto tries raw first.
	Socket SocketMode
	// Listen opens the sockets; nil means Listen. Tests substitute a fake.
	Listen func(ListenConfig) (Conn, error)
	// PathMTU reports the MTU toward a host, for the message of a request
	// too big to send; nil means the kernel's route MTU where the platform
	// tells it. 0 means unknown.
	PathMTU func(netip.Addr) int
	// OnStart, if set, is called once the sockets are open, just before the
	// first request (where iputils prints its PING line).
	OnStart func()
	// OnEvent, if set, is called for every reply and ICMP error, one call at
	// a time, in arrival order.
	OnEvent func(PingEvent)
	// Logger receives debug notes; nil discards them.
	Logger *slog.Logger
}

// The result types live in icmpresult, which opens no socket, so that
// internal/report can render them without importing this engine.
type (
	PingEventKind = icmpresult.PingEventKind
	PingEvent     = icmpresult.PingEvent
	HostResult    = icmpresult.HostResult
	PingResult    = icmpresult.PingResult
)

// Ping event kinds.
const (
	PingReply      = icmpresult.PingReply
	PingError      = icmpresult.PingError
	PingLocalError = icmpresult.PingLocalError
)

// Ping runs a Pinger for cfg.
func Ping(ctx context.Context, cfg PingConfig) (PingResult, error) {
	p, err := NewPinger(cfg)
	if err != nil {
		return PingResult{}, err
	}
	return p.Run(ctx)
}

// Pinger sends echo requests to several hosts and gathers the replies.
type Pinger struct {
	cfg   PingConfig
	log   *slog.Logger
	nonce [nonceLen]byte
	id    uint16
	size  int

	mu     sync.Mutex
	hosts  []*hostState
	byAddr map[netip.Addr]*hostState
	wake   chan struct{}
}

type hostState struct {
	res   HostResult
	v6    bool
	seq   uint16
	sent  map[uint16]*sentProbe
	first time.Time
	last  time.Time
}

type sentProbe struct {
	at  time.Time
	got bool
}

// Validate reports whether NewPinger would accept cfg. Its errors wrap
// errs.ErrInvalidConfig.
func (cfg PingConfig) Validate() error {
	switch {
	case len(cfg.Hosts) == 0:
		return errs.Invalidf("ping: no host given")
	case cfg.Interval < 0 || cfg.Timeout < 0 || cfg.Deadline < 0 || cfg.Count < 0:
		return errs.Invalidf("ping: negative count, interval, timeout or deadline")
	case cfg.Size != EmptyPayload && (cfg.Size < 0 || cfg.Size > 65507):
		return errs.Invalidf("ping: invalid packet size %d", cfg.Size)
	case cfg.TTL < 0 || cfg.TTL > 255:
		return errs.Invalidf("ping: invalid ttl %d: out of range 1-255", cfg.TTL)
	}
	return nil
}

// NewPinger checks cfg and prepares a run.
func NewPinger(cfg PingConfig) (*Pinger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	size := cfg.Size
	switch size {
	case 0:
		size = 56
	case EmptyPayload:
		size = 0
	}
	if cfg.PathMTU == nil {
		cfg.PathMTU = routeMTU
	}
	if cfg.Listen == nil {
		cfg.Listen = Listen
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Pinger{cfg: cfg, log: log, size: size, byAddr: map[netip.Addr]*hostState{}, wake: make(chan struct{}, 1)}
	var idb [2]byte
	_, _ = rand.Read(p.nonce[:])
	_, _ = rand.Read(idb[:])
	p.id = binary.BigEndian.Uint16(idb[:])
	for _, h := range cfg.Hosts {
		h = h.Unmap()
		hs := &hostState{res: HostResult{Host: h}, v6: h.Is6(), sent: map[uint16]*sentProbe{}}
		p.hosts = append(p.hosts, hs)
		if _, ok := p.byAddr[h]; !ok {
			p.byAddr[h] = hs
		}
	}
	return p, nil
}

// PayloadSize is the number of data bytes each request carries.
func (p *Pinger) PayloadSize() int { return p.size }

// Run pings until Count requests per host were answered or timed out, the
// Deadline passed, or ctx is cancelled; the summary is returned in every
// case. An error is returned only when the sockets cannot be used.
func (p *Pinger) Run(ctx context.Context) (PingResult, error) {
	var conns [2]Conn // [0] IPv4, [1] IPv6
	for _, h := range p.hosts {
		fam := famIndex(h.v6)
		if conns[fam] != nil {
			continue
		}
		c, err := p.cfg.Listen(ListenConfig{V6: h.v6, Mode: p.cfg.Socket, PMTU: p.cfg.PMTU, Device: p.cfg.Device})
		if err != nil {
			for _, c := range conns {
				if c != nil {
					c.Close()
				}
			}
			return PingResult{}, fmt.Errorf("ping: %w", err)
		}
		conns[fam] = c
	}
	if p.cfg.OnStart != nil {
		p.cfg.OnStart()
	}
	raw := true
	var wg sync.WaitGroup
	for fam, c := range conns {
		if c == nil {
			continue
		}
		raw = raw && c.Raw()
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.readLoop(c, fam == 1)
		}()
	}
	err := p.sendLoop(ctx, conns)
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	res := PingResult{Raw: raw}
	for _, h := range p.hosts {
		r := h.res
		if !h.first.IsZero() {
			r.Elapsed = h.last.Sub(h.first)
		}
		res.Hosts = append(res.Hosts, r)
	}
	return res, err
}

func famIndex(v6 bool) int {
	if v6 {
		return 1
	}
	return 0
}

func (p *Pinger) sendLoop(ctx context.Context, conns [2]Conn) error {
	start := time.Now()
	var deadline <-chan time.Time
	if p.cfg.Deadline > 0 {
		t := time.NewTimer(p.cfg.Deadline)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTimer(0)
	defer tick.Stop()
	var linger <-chan time.Time
	round := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-deadline:
			return nil
		case <-linger:
			return nil
		case <-p.wake:
			if p.cfg.Count > 0 && round >= p.cfg.Count && p.allAnswered() {
				return nil
			}
		case <-tick.C:
			round++
			for _, h := range p.hosts {
				if err := p.send(conns[famIndex(h.v6)], h); err != nil {
					p.log.Debug("ping send failed", "host", h.res.Host, "err", err)
					if isFatalSend(err) {
						return fmt.Errorf("ping: %w", err)
					}
					p.localError(h, err)
				}
			}
			if p.cfg.Count > 0 && round >= p.cfg.Count {
				if p.allAnswered() {
					return nil
				}
				t := time.NewTimer(p.cfg.Timeout)
				defer t.Stop()
				linger = t.C
				continue
			}
			tick.Reset(time.Until(start.Add(time.Duration(round) * p.cfg.Interval)))
		}
	}
}

// isFatalSend tells a broken socket from a per-packet failure (no route,
// message too long), which iputils reports and carries on after.
func isFatalSend(err error) bool {
	return errors.Is(err, net.ErrClosed)
}

// localError files a request the kernel refused to send as iputils does:
// an event with its message, and one more error in the summary.
func (p *Pinger) localError(h *hostState, err error) {
	msg := "sendmsg: " + errText(err)
	if errors.Is(err, syscall.EMSGSIZE) {
		mtu := 0
		if p.cfg.PathMTU != nil {
			mtu = p.cfg.PathMTU(h.res.Host)
		}
		msg = "local error: message too long"
		if mtu > 0 {
			msg += ", mtu=" + strconv.Itoa(mtu)
		}
	}
	p.mu.Lock()
	h.res.Errors++
	ev := PingEvent{Kind: PingLocalError, Host: h.res.Host, From: h.res.Host, Seq: int(h.seq), TTL: -1, Message: msg, At: time.Now()}
	if p.cfg.OnEvent != nil {
		p.cfg.OnEvent(ev)
	}
	p.mu.Unlock()
}

// errText is the system's wording of err ("Network is unreachable"), as
// iputils prints it after "sendmsg: ".
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}

func (p *Pinger) allAnswered() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.hosts {
		if h.res.Received+h.res.Errors < p.cfg.Count {
			return false
		}
	}
	return true
}

func (p *Pinger) send(c Conn, h *hostState) error {
	p.mu.Lock()
	h.seq++
	seq := h.seq
	p.mu.Unlock()
	payload := make([]byte, p.size)
	n := copy(payload, p.nonce[:])
	for i := n; i < len(payload); i++ {
		payload[i] = byte(i) // iputils fills the rest with a counting pattern
	}
	msg := probe.AppendEcho(nil, h.v6, p.id, seq, payload)
	now := time.Now()
	p.mu.Lock()
	h.sent[seq] = &sentProbe{at: now}
	h.res.Transmitted++
	if h.first.IsZero() {
		h.first = now
	}
	h.last = now
	p.mu.Unlock()
	return c.WriteTo(msg, h.res.Host, p.cfg.TTL)
}

func (p *Pinger) readLoop(c Conn, v6 bool) {
	buf := make([]byte, 65536)
	for {
		pkt, err := c.ReadPacket(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.log.Debug("ping read failed", "err", err)
			}
			return
		}
		p.handle(c.Raw(), v6, pkt)
	}
}

// ourPayload reports whether data starts with this run's nonce (as much of
// it as the payload holds).
func (p *Pinger) ourPayload(data []byte) bool {
	n := min(len(data), nonceLen, p.size)
	if p.size > 0 && n == 0 {
		return true // a router may quote only 8 bytes; id and seq must do
	}
	return string(data[:n]) == string(p.nonce[:n])
}

func (p *Pinger) handle(raw, v6 bool, pkt Packet) {
	m, err := probe.ParseMessage(v6, pkt.Data)
	if err != nil {
		return
	}
	ev := PingEvent{From: pkt.From.Unmap(), TTL: pkt.TTL, Bytes: len(pkt.Data), At: pkt.Kernel}
	if ev.At.IsZero() {
		ev.At = pkt.Read
	}
	var h *hostState
	var seq uint16
	switch m.Kind() {
	case probe.KindEchoReply:
		if (raw && m.ID != p.id) || !p.ourPayload(m.Payload) {
			return
		}
		h, seq = p.byAddr[ev.From], m.Seq
		ev.Kind = PingReply
	case probe.KindTimeExceeded, probe.KindUnreachable, probe.KindTooBig, probe.KindParamProblem:
		q := m.Quoted
		if q.ICMPType != echoRequestType(v6) || (q.Protocol != probe.ProtoICMP && q.Protocol != probe.ProtoICMPv6) {
			return
		}
		if (raw && q.ID != p.id) || !p.ourPayload(q.Data) {
			return
		}
		h, seq = p.byAddr[q.Dst.Unmap()], q.Seq
		ev.Kind, ev.Message = PingError, m.Describe()
	default:
		return
	}
	if h == nil {
		return
	}
	p.mu.Lock()
	sp := h.sent[seq]
	if sp == nil {
		p.mu.Unlock()
		return
	}
	ev.Host, ev.Seq = h.res.Host, int(seq)
	if h.res.Transmitted > 65535 {
		ev.Seq = h.res.Transmitted - int(h.seq-seq) // past the 16-bit wrap, as counted
	}
	if ev.Kind == PingReply {
		ev.RTT = rtt(sp.at, pkt)
		if sp.got {
			ev.Dup = true
			h.res.Duplicates++
		} else {
			sp.got = true
			h.res.Received++
			h.res.RTT.Add(float64(ev.RTT) / float64(time.Millisecond))
		}
	} else {
		h.res.Errors++
	}
	if pkt.Read.After(h.last) {
		h.last = pkt.Read
	}
	if p.cfg.OnEvent != nil {
		p.cfg.OnEvent(ev)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func echoRequestType(v6 bool) uint8 {
	if v6 {
		return probe.V6EchoRequest
	}
	return probe.V4EchoRequest
}

// rtt prefers the kernel's receive timestamp, which leaves out the
// scheduling delay of the reader, and falls back to the monotonic clock when
// there is none or the wall clock stepped in between.
func rtt(sent time.Time, pkt Packet) time.Duration {
	mono := pkt.Read.Sub(sent)
	if !pkt.Kernel.IsZero() {
		if k := pkt.Kernel.Sub(sent.Round(0)); k > 0 && k <= mono {
			return k
		}
	}
	return mono
}
